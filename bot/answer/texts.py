"""What the answer chain says in its own words, in German and English: the refusal, the
honest "not in our documents", the offer of likely topics and the question which product
is meant. Kept apart so the wording can change without touching a decision."""

from __future__ import annotations

REFUSAL = {
    "de": "Dabei kann ich nicht helfen. Ich beantworte Fragen zu unseren Produkten, zu "
          "Bestellungen und zum Service – frag mich gern dazu. Wenn du lieber mit einer Person "
          "sprechen möchtest, verbinde ich dich mit dem Serviceteam.",
    "en": "I can't help with that. I answer questions about our products, orders and service – "
          "feel free to ask me about those. If you'd rather talk to a person, I'll connect you "
          "with the service team.",
}


_NOT_FOUND_START = ("Zu „", "Our documents say nothing about “")


def says_not_found(text: str) -> bool:
    """Is ``text`` a "not in our documents" answer (for evaluations reading the JSON)?"""
    return text.startswith(_NOT_FOUND_START) and ("steht in unseren Unterlagen nichts" in text
                                                  or "say nothing about" in text)


def not_found_text(name: str, language: str) -> str:
    """An honest "not in our documents", standing alone: a quote about something else
    would read as an answer."""
    if language == "en":
        return (f"Our documents say nothing about “{name}”. If you like, I can connect you "
                "with our service team.")
    return (f"Zu „{name}“ steht in unseren Unterlagen nichts. Wenn du magst, verbinde ich "
            "dich mit dem Serviceteam.")


SUGGEST_TEXT = {
    "de": "Dazu habe ich mehrere Themen gefunden, aber keine Antwort, bei der ich mir sicher "
          "bin. Welches Thema meinst du? Oder soll ich dich mit einer Kollegin oder einem "
          "Kollegen verbinden?",
    "en": "I found several topics on this, but no answer I am sure of. Which topic do you "
          "mean? Or shall I connect you with a colleague?",
}
PERSON_OPTION = {"de": "Mit Mitarbeiter sprechen", "en": "Talk to a person"}


def ask_back_text(options: list[str], language: str) -> str:
    listed = " oder ".join(options) if language == "de" else " or ".join(options)
    if language == "en":
        return f"Which product do you mean: {listed}? Then I can answer precisely."
    return f"Welches Produkt meinst du: {listed}? Dann kann ich dir genau antworten."
