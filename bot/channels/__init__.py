"""Other ways in and out of a conversation than the web chat (logic only; routes live in web/)."""
