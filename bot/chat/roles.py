"""Who said a message: the roles a conversation's messages are stored and shown with.

    customer        what the customer wrote to Lotse
    bot             what Lotse answered
    agent           what a person of the team wrote
    notice          what Lotse told the customer about the ticket ("system" in REST)
    client_history  a turn a client sent as the conversation's earlier history

A client of the OpenAI-compatible route sends the whole conversation each time; its
assistant turns are its own account of what was said, which Lotse never said. They keep
a role of their own from storage on, so every reader (REST transcript, staff views,
webhooks, exports, follow-up rules) tells them apart from Lotse's answers without
having to remember a flag: a role that is not ``bot`` is never taken for Lotse's words.
"""

from __future__ import annotations

CUSTOMER = "customer"
BOT = "bot"
AGENT = "agent"
NOTICE = "notice"
CLIENT_HISTORY = "client_history"

# The role as the REST transcript names it: a notice is a system message there.
_SHOWN = {NOTICE: "system"}


def shown_role(role: str) -> str:
    """The role of a stored message as the conversation contract names it."""
    return _SHOWN.get(role, role)
