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
the agents set a conversation Lotse handed over back to ``pending``, Lotse closes the
ticket it opened for it and answers again.
Everything else (outgoing and private messages, other events, open conversations) is
ignored, so the bot never answers itself or an agent.

An event is taken at its word only as far as it must be: its account must be the one
configured (``chatwoot.account_id``, else ``Forbidden``), its ids must be whole numbers
(JSON ``true`` is not one; else ``InvalidInput``), a message id already handled is
ignored (``ChatwootStore`` remembers them, so a replayed event gets no second answer),
and a ``pending`` status closes a ticket only in a conversation Lotse itself linked when
it handed it over. Whether the event comes from Chatwoot at all is the route's check
(the secret URL, and the signature once ``chatwoot.signing_secret`` is set).

The Chatwoot conversation is a Lotse conversation with the id
``chatwoot-{account}-{conversation}``, so the KPIs, the redaction and the handoff
rules are those of the chat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from bot.channels.chatwoot_store import ChatwootStore
from bot.chat.service import ChatService, Reply
from kb.channel_settings import ChatwootSettings
from kb.errors import Forbidden, InvalidInput, LotseError
from kb.markup import plain_text

log = logging.getLogger(__name__)

_REASONS = {"de": "Übergabe durch Lotse", "en": "Handed over by Lotse"}


@dataclass(frozen=True)
class Handled:
    """What the connector did with one event: ``action`` is answered, handed_off or
    ignored (with ``why``)."""

    action: str
    why: str = ""
    ticket: str | None = None


def whole_number(value: Any, name: str) -> int:
    """``value`` as an id: a positive JSON integer, never ``true``, ``1.0`` or ``"1"``."""
    if type(value) is not int or value <= 0:  # bool is an int subclass: not an id
        raise InvalidInput(f"{name} must be a positive integer, not {value!r}"[:120])
    return value


@dataclass(frozen=True)
class _Ids:
    account: int
    conversation: int
    message: int

    @property
    def session_id(self) -> str:
        return f"chatwoot-{self.account}-{self.conversation}"

    @property
    def api(self) -> str:
        return f"/api/v1/accounts/{self.account}/conversations/{self.conversation}"


class ChatwootConnector:
    """Turns Chatwoot's agent-bot events into Lotse answers posted back to Chatwoot."""

    def __init__(self, chat: ChatService, settings: ChatwootSettings,
                 client: httpx.Client | None = None, store: ChatwootStore | None = None) -> None:
        self.chat = chat
        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.timeout_seconds)
        self.store = store or ChatwootStore(chat.state.engine, settings.seen_ids_kept)

    def handle(self, event: dict[str, Any]) -> Handled:
        """One event. ``Forbidden`` for another account's, ``InvalidInput`` for ids that are
        not whole numbers; both before anything is done."""
        if event.get("event") != "message_created":  # nothing is done for it
            return Handled("ignored", f"event {event.get('event')!r}")
        ids = self._ids(event, self._account(event))
        if event.get("message_type") != "incoming" or event.get("private"):
            return Handled("ignored", "not a customer's message")
        conversation = event.get("conversation") or {}
        if conversation.get("status") != "pending":
            return Handled("ignored", f"conversation is {conversation.get('status')!r}: agents own it")
        text = str(event.get("content") or "").strip()
        if not text:
            return Handled("ignored", "no text (an attachment only)")
        if not self.store.first_time(ids.account, ids.message):
            return Handled("ignored", f"message {ids.message} was handled already")
        self._given_back(ids)
        try:
            reply = self.chat.send(ids.session_id, text)
        except LotseError as exc:  # too long, too many: the agents take it as it is
            self._post(f"{ids.api}/messages", {"content": f"Lotse: {exc}",
                                               "message_type": "outgoing", "private": True})
            self._post(f"{ids.api}/toggle_status", {"status": "open"})
            return Handled("handed_off", why=str(exc))
        self._post(f"{ids.api}/messages", {"content": reply.text + reply.footnotes(),
                                           "message_type": "outgoing", "private": False})
        if reply.ticket is None:
            return Handled("answered")
        self.store.link(ids.account, ids.conversation, ids.session_id, reply.ticket.id)
        self._post(f"{ids.api}/messages", {"content": self._note(reply),
                                           "message_type": "outgoing", "private": True})
        self._post(f"{ids.api}/toggle_status", {"status": "open"})
        return Handled("handed_off", ticket=reply.ticket.number)

    def _account(self, event: dict[str, Any]) -> int:
        """The event's account, which must be the one this bot serves."""
        account = event.get("account")
        account = whole_number(account.get("id") if isinstance(account, dict) else None,
                               "account.id")
        if account != self.settings.account_id:
            raise Forbidden(f"account {account} is not the account this bot serves")
        return account

    @staticmethod
    def _ids(event: dict[str, Any], account: int) -> _Ids:
        conversation = event.get("conversation")
        if not isinstance(conversation, dict):
            raise InvalidInput("the event has no conversation")
        return _Ids(account, whole_number(conversation.get("id"), "conversation.id"),
                    whole_number(event.get("id"), "id"))

    def _given_back(self, ids: _Ids) -> None:
        """A message in a pending conversation that Lotse handed over: the agents gave it
        back, so Lotse's ticket for it is closed. A ticket Lotse did not link to this
        Chatwoot conversation stays as it is, whatever the event says."""
        linked = self.store.linked_ticket(ids.account, ids.conversation)
        if linked is None:
            return
        earlier = self.chat.state.open_ticket_of(ids.session_id)
        if earlier is not None and earlier.id == linked:
            self.chat.close_ticket(earlier.id, resolved=True)
        self.store.unlink(ids.account, ids.conversation)

    def _note(self, reply: Reply) -> str:
        """The private note for Chatwoot's agents: why, from which sources, and a draft."""
        ticket = self.chat.ticket(reply.ticket.id)  # waits for the draft being written
        language = reply.answer.language if reply.answer and reply.answer.language in _REASONS \
            else "de"
        lines = [f"{_REASONS[language]} (Lotse {ticket.number}): {ticket.reason}"]
        # Chatwoot renders a note's Markdown: the customer's question and the titles go in
        # as plain text, so no image or link of theirs shows up in the agents' view.
        if ticket.question:
            lines.append(f"Frage / question: {plain_text(ticket.question)}")
        for s in ticket.sources:
            lines.append(f"[{s.get('n')}] {plain_text(str(s.get('title')))} ({s.get('source')})")
        if ticket.draft:
            lines += ["", "Entwurf / draft:", ticket.draft]
        return "\n".join(lines)

    def _post(self, path: str, body: dict) -> None:
        response = self.client.post(f"{self.settings.url.rstrip('/')}{path}", json=body,
                                    headers={"api_access_token":
                                             self.settings.bot_token.get_secret_value()})
        response.raise_for_status()

