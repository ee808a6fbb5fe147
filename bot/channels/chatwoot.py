"""Lotse as a Chatwoot Agent Bot: it answers in Chatwoot conversations and hands over to
Chatwoot's human agents.

Chatwoot sends an agent bot every event of the inboxes it is connected to; a
conversation with a bot starts as ``pending`` (the bot's) and becomes ``open`` when it
is the agents'. For each ``message_created`` event with an incoming customer message in
a pending conversation, Lotse answers through Chatwoot's API
(``POST /api/v1/accounts/{account}/conversations/{id}/messages``, ``message_type``
outgoing, with the sources as footnotes). When Lotse hands off, it also leaves a
private note for the agents (the reason, the sources, the drafted reply) and sets the
conversation to ``open`` (``POST …/toggle_status``), after which it stays silent there.
A message Lotse refuses (too long, too many in a minute) is handed over the same way. If
the agents set the conversation back to ``pending``, Lotse closes its own ticket for it
and answers again.
Everything else (outgoing and private messages, other events, open conversations) is
ignored, so the bot never answers itself or an agent.

The Chatwoot conversation is a Lotse conversation with the id
``chatwoot-{account}-{conversation}``, so the KPIs, the redaction and the handoff
rules are those of the chat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from bot.chat.service import ChatService, Reply
from kb.errors import LotseError
from kb.settings import ChatwootSettings

log = logging.getLogger(__name__)

_REASONS = {"de": "Übergabe durch Lotse", "en": "Handed over by Lotse"}


@dataclass(frozen=True)
class Handled:
    """What the connector did with one event: ``action`` is answered, handed_off or
    ignored (with ``why``)."""

    action: str
    why: str = ""
    ticket: str | None = None


class ChatwootConnector:
    """Turns Chatwoot's agent-bot events into Lotse answers posted back to Chatwoot."""

    def __init__(self, chat: ChatService, settings: ChatwootSettings,
                 client: httpx.Client | None = None) -> None:
        self.chat = chat
        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.timeout_seconds)

    def handle(self, event: dict[str, Any]) -> Handled:
        if event.get("event") != "message_created":
            return Handled("ignored", f"event {event.get('event')!r}")
        if event.get("message_type") != "incoming" or event.get("private"):
            return Handled("ignored", "not a customer's message")
        conversation = event.get("conversation") or {}
        account = (event.get("account") or {}).get("id")
        conversation_id = conversation.get("id")
        if not isinstance(account, int) or not isinstance(conversation_id, int):
            return Handled("ignored", "no account or conversation id")
        if conversation.get("status") != "pending":
            return Handled("ignored", f"conversation is {conversation.get('status')!r}: agents own it")
        text = str(event.get("content") or "").strip()
        if not text:
            return Handled("ignored", "no text (an attachment only)")
        session_id = f"chatwoot-{account}-{conversation_id}"
        base = f"/api/v1/accounts/{account}/conversations/{conversation_id}"
        earlier = self.chat.state.open_ticket_of(session_id)
        if earlier is not None:
            # Pending again with a Lotse ticket still open: Chatwoot's agents gave the
            # conversation back to the bot, so that handoff is over.
            self.chat.close_ticket(earlier.id, resolved=True)
        try:
            reply = self.chat.send(session_id, text)
        except LotseError as exc:  # too long, too many: the agents take it as it is
            self._post(f"{base}/messages", {"content": f"Lotse: {exc}", "message_type": "outgoing",
                                            "private": True})
            self._post(f"{base}/toggle_status", {"status": "open"})
            return Handled("handed_off", why=str(exc))
        self._post(f"{base}/messages", {"content": reply.text + reply.footnotes(),
                                        "message_type": "outgoing", "private": False})
        if reply.ticket is None:
            return Handled("answered")
        self._post(f"{base}/messages", {"content": self._note(reply), "message_type": "outgoing",
                                        "private": True})
        self._post(f"{base}/toggle_status", {"status": "open"})
        return Handled("handed_off", ticket=reply.ticket.number)

    def _note(self, reply: Reply) -> str:
        """The private note for Chatwoot's agents: why, from which sources, and a draft."""
        ticket = self.chat.ticket(reply.ticket.id)  # waits for the draft being written
        language = reply.answer.language if reply.answer and reply.answer.language in _REASONS \
            else "de"
        lines = [f"{_REASONS[language]} (Lotse {ticket.number}): {ticket.reason}"]
        if ticket.question:
            lines.append(f"Frage / question: {ticket.question}")
        for s in ticket.sources:
            lines.append(f"[{s.get('n')}] {s.get('title')} ({s.get('source')})")
        if ticket.draft:
            lines += ["", "Entwurf / draft:", ticket.draft]
        return "\n".join(lines)

    def _post(self, path: str, body: dict) -> None:
        response = self.client.post(f"{self.settings.url.rstrip('/')}{path}", json=body,
                                    headers={"api_access_token":
                                             self.settings.bot_token.get_secret_value()})
        response.raise_for_status()

