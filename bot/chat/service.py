"""The one service layer the CLI, the REST API and the UI format: chat, handoff, tickets, KPIs.

    >>> chat = ChatService(engine, state)
    >>> reply = chat.send(session_id, "Wie schwer ist der AlpinPro 35?")
    >>> reply = chat.send(session_id, "Und in Größe L?")   # follow-up keeps the product
    >>> reply.ticket                                       # set when a person takes over

A message is cleaned and its language detected here, once (``Question``); the
answer chain does the rest, follow-up rewriting included. A handoff opens a
ticket with the transcript, the reason and the question; the agent's draft
reply (with the agent's view of the knowledge base) is written after the customer
has the reply. While the ticket is open, the bot stays: what the documents answer
it answers (and says where the ticket stands), the rest goes to the team as a
receipt; the agent sees every message either way.

A conversation belongs to whoever holds its secret (``start_conversation`` makes
both; ``authorize`` checks them): the REST API and the web chat ask for it on
every later request, so nobody writes into or reads another customer's chat.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bot.answer.handoff import handoff_message
from bot.answer.question import MAX_QUESTION_CHARS, Question
from bot.chat.admin import AdminService
from bot.chat.analytics import kpis
from bot.chat.engine import Engine
from bot.chat.faq import FaqLoop
from bot.chat.hours import BusinessHours
from bot.chat.metrics import Metrics
from bot.chat.pii import find_email
from bot.chat.ratelimit import RateLimited, RateLimiter, units_of
from bot.chat.roles import AGENT, BOT, CLIENT_HISTORY, CUSTOMER, shown_role
from bot.chat.staff import Credentials, LoginSessions
from bot.chat.state import (
    Delivery,
    Message,
    StateError,
    StateStore,
    Ticket,
    check_session_id,
)
from kb.errors import Forbidden, InvalidInput
from kb.text import content_hash, detect_language
from kb.types import Answer

log = logging.getLogger(__name__)

MAX_CLIENT_TURNS = 10  # earlier turns kept of a conversation a client sends (OpenAI route)
_TICKET_NOTE = {
    "de": "Deine Ticketnummer ist {number}.",
    "en": "Your ticket number is {number}.",
}
_FORWARDED = {
    "de": "Danke, deine Nachricht ist beim Serviceteam angekommen (Ticket {number}).",
    "en": "Thanks, your message has reached our service team (ticket {number}).",
}
_ALREADY = {
    "de": "Du bist schon mit dem Serviceteam verbunden (Ticket {number}).",
    "en": "You are already connected with our service team (ticket {number}).",
}
# While a ticket is open: what the customer is told about it with every reply.
_STATUS = {
    "de": {"open": "Eine Kollegin oder ein Kollege meldet sich bei dir{wait}; bis dahin beantworte "
                   "ich gern weitere Fragen.",
           "wait": ", voraussichtlich in etwa {minutes} Minuten",
           "taken": "Eine Kollegin oder ein Kollege bearbeitet dein Anliegen gerade.",
           "answered": "Das Serviceteam hat dir schon geantwortet (siehe oben).",
           "seen": "Das Serviceteam sieht auch diese Frage (Ticket {number})."},
    "en": {"open": "A colleague will get back to you{wait}; until then I'm happy to answer "
                   "other questions.",
           "wait": ", probably in about {minutes} minutes",
           "taken": "A colleague is working on your request right now.",
           "answered": "Our service team has already replied (see above).",
           "seen": "Our service team sees this question too (ticket {number})."},
}
# Outside business hours: when the team is back, and the offer to answer by e-mail.
_AWAY = {
    "de": {"away": "Unser Serviceteam ist gerade nicht erreichbar und meldet sich {when}.",
           "away_unknown": "Unser Serviceteam ist gerade nicht erreichbar und meldet sich, "
                           "sobald es wieder da ist.",
           "offer": "Wenn du die Antwort per E-Mail möchtest, schreib mir hier deine "
                    "E-Mail-Adresse: Wir nutzen sie nur für die Antwort auf dieses Ticket und "
                    "löschen sie, sobald es abgeschlossen ist.",
           "meanwhile": "Bis dahin beantworte ich gern weitere Fragen."},
    "en": {"away": "Our service team is not available right now and will get back to you "
                   "{when}.",
           "away_unknown": "Our service team is not available right now and will get back to "
                           "you as soon as it is.",
           "offer": "If you would like the answer by e-mail, type your e-mail address here: we "
                    "use it only to answer this ticket and delete it as soon as the ticket is "
                    "closed.",
           "meanwhile": "Until then I'm happy to answer other questions."},
}
_EMAIL_KEPT = {
    "de": "Danke! Die Antwort des Serviceteams schicken wir auch an {email}. Die Adresse "
          "nutzen wir nur für Ticket {number} und löschen sie, sobald es abgeschlossen ist.",
    "en": "Thanks! We will also send the service team's reply to {email}. We use the address "
          "only for ticket {number} and delete it as soon as the ticket is closed.",
}
_EMAIL_ON_FILE = {
    "de": "Die Antwort bekommst du auch per E-Mail.",
    "en": "You will also get the answer by e-mail.",
}
_CLOSED = {
    "de": "Das Serviceteam hat Ticket {number} abgeschlossen. Ab jetzt antwortet wieder Lotse; "
          "„Mit Mitarbeiter sprechen“ bringt dich jederzeit zurück zum Team.",
    "en": "The service team has closed ticket {number}. Lotse answers again from now on; "
          "“Talk to a person” brings you back to the team at any time.",
}
_DRAFT = {
    "de": {"hello": "Hallo, danke für deine Nachricht!",
           "sorry": "Hallo, es tut mir leid, dass du Ärger hattest. Ich kümmere mich jetzt darum.",
           "gap": "[Hierzu gibt es keine passende Quelle: bitte selbst ergänzen.]",
           "closing": "Viele Grüße\ndein Serviceteam von {brand}"},
    "en": {"hello": "Hello, thanks for your message!",
           "sorry": "Hello, I'm sorry for the trouble. I'm taking care of it now.",
           "gap": "[No matching source for this: please write this part yourself.]",
           "closing": "Best regards\nyour {brand} service team"},
}


class NotYourConversation(Forbidden):
    """The conversation id and secret do not belong together (or the id does not exist)."""


class ReplyChannel(Protocol):
    """Delivers an agent's reply outside the chat (``bot.channels.email``); raises on failure."""

    def deliver(self, to: str, ticket: Ticket, text: str, language: str) -> None: ...


@dataclass(frozen=True)
class SentReply:
    """An agent's reply as stored, and whether it also went out by e-mail."""

    message_id: int
    emailed_to: str | None = None  # masked, for the agent's view
    mail_error: str | None = None


@dataclass(frozen=True)
class Reply:
    """What the customer sees for one message, plus what the UI needs to show it."""

    text: str
    answer: Answer | None
    message_id: int | None
    ticket: Ticket | None
    forwarded: bool = False  # the message went to the agent queue, not to the bot
    session_id: str = ""
    secret: str | None = None  # set once, in the reply that started the conversation

    def footnotes(self) -> str:
        """The sources as footnotes (``[1] Title – Section (source)``) after a blank line,
        for channels that show plain text only; empty without sources."""
        if self.answer is None or not self.answer.citations:
            return ""
        lines = []
        for c in self.answer.citations:
            section = f" – {c.section}" if c.section and c.section != c.title else ""
            lines.append(f"[{c.n}] {c.title}{section} ({c.source})")
        return "\n\n" + "\n".join(lines)

    def to_dict(self) -> dict:
        # A receipt (the ``forward`` route) answers nothing: the ticket is already open.
        data = self.answer.to_dict() if self.answer else {
            "question": "", "answer": self.text, "language": "de", "citations": [],
            "confidence": 0.0, "handoff": False, "handoff_reason": None, "products": [],
            "options": [], "route": "forward", "act": "question", "suggestions": []}
        data["answer"] = self.text
        data["message_id"] = self.message_id
        data["ticket"] = self.ticket.number if self.ticket else None
        data["forwarded"] = self.forwarded
        data["session_id"] = self.session_id
        if self.secret:
            data["session_secret"] = self.secret
        return data


class ChatService:
    """Conversations over the answer chain, with state, follow-ups and tickets."""

    def __init__(self, engine: Engine, state: StateStore,
                 mail: ReplyChannel | None = None, metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.state = state
        self.mail = mail  # None: no e-mail is offered or sent
        self.metrics = metrics or Metrics()
        self.hours = BusinessHours.of(engine.settings.hours)
        server = engine.settings.server
        self.limits = RateLimiter(server.messages_per_minute, server.client_messages_per_minute,
                                  state=state)
        # Called as listener(event, ticket, **data) for ticket.opened, customer.message,
        # agent.reply and ticket.closed (bot.channels.webhooks queues them for helpdesks).
        self.listeners: list[Callable[..., None]] = []
        # Agents' drafts are written here, after the customer has the reply.
        self._drafter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lotse-draft")
        self._drafting: dict[int, Future] = {}

    def record(self, event: str, session_id: str = "", value: float | None = None,
               **data: Any) -> None:
        """An event for the KPIs (stored) and the process's metrics."""
        self.state.record(event, session_id, value, **data)
        self.metrics.event(event, value, data)

    def _notify(self, event: str, ticket: Ticket, **data: Any) -> None:
        for listener in self.listeners:
            try:
                listener(event, ticket, **data)
            except Exception:  # a listener's failure is logged; the customer is answered
                log.exception("listener %r failed on %s", listener, event)

    def _check_limits(self, session_id: str | None, client: str | None,
                      texts: Sequence[str] = ()) -> None:
        """Count a request against the rate limits: one unit, or the units of the ``texts``
        it brings to be read and stored (``server.rate_unit_chars``)."""
        chars = sum(min(len(t), MAX_QUESTION_CHARS) for t in texts)
        try:
            self.limits.check(session_id, client,
                              units_of(chars, self.engine.settings.server.rate_unit_chars))
        except RateLimited:
            self.metrics.rate_limited.inc()
            raise

    @property
    def brand(self) -> str:
        return self.engine.settings.server.brand

    @property
    def handoff_below(self) -> float:
        """Confidence under which the bot hands a customer's question to a person."""
        return self.engine.chain.thresholds()[0]

    def send(self, session_id: str | None, text: str, view: str = "customer",
             client: str | None = None, contact: str | None = None) -> Reply:
        """Answer one message in a session (created on first use; with ``None``, a new
        conversation whose id and secret the reply carries)."""
        for item in self.stream(session_id, text, view, client, contact):
            if isinstance(item, Reply):
                return item
        raise AssertionError("stream ended without a reply")

    def stream(self, session_id: str | None, text: str, view: str = "customer",
               client: str | None = None, contact: str | None = None) -> Iterator[str | Reply]:
        """Deltas of the answer as an LLM's checked sentences are released, then the ``Reply``.

        The extractive answer comes whole, as the ``Reply`` alone; revealing it word by
        word is for a UI to decide. A message that is empty or too long raises
        ``InvalidQuestion``, one over the rate limit ``RateLimited``: both before
        anything is stored. ``contact`` is the address of a conversation that runs by
        e-mail: a ticket it opens is answered there."""
        question = Question.of(text)
        secret = None
        if session_id is None:  # only now: a refused first message leaves nothing behind
            self._check_limits(None, client, [question.text])
            session_id, secret = self.start_conversation(view)
        else:
            check_session_id(session_id)
            self._check_limits(session_id, client, [question.text])
        self.state.ensure_session(session_id, role=view)
        ids = {"session_id": session_id, "secret": secret}
        open_ticket = self.state.open_ticket_of(session_id) if view == "customer" else None
        turns = self.state.turns(session_id, last=self.engine.settings.reading.max_turns)
        started = time.perf_counter()
        answer = None
        for item in self.engine.chain.stream(question, view=view, history=turns,
                                             ticket_open=open_ticket is not None):
            if isinstance(item, Answer):
                answer = item
            elif open_ticket is None:
                yield item
        assert answer is not None
        latency_ms = 1000 * (time.perf_counter() - started)
        self.state.add_message(session_id, "customer", question.text)

        if open_ticket is not None:
            # A person is on the way: the bot still answers what the documents answer, and
            # everything the customer writes lands in the ticket the agent sees.
            self.record("forwarded", session_id)
            self._notify("customer.message", open_ticket, text=question.text)
            # An address is taken only while the offer stands (out of hours, none on file yet):
            # typing it after reading what it is for is the consent.
            email = find_email(question.text) if self.offers_email(open_ticket) else None
            if email:
                language = detect_language(open_ticket.question) if open_ticket.question \
                    else question.language
                language = language if language in _EMAIL_KEPT else "de"
                self.state.set_contact(open_ticket.id, email)
                self.record("email_consent", session_id)
                kept = _EMAIL_KEPT[language].format(email=mask_email(email),
                                                    number=open_ticket.number)
                status = self.ticket_status(open_ticket, language)
                yield Reply(f"{kept} {status}", None, None, open_ticket, forwarded=True, **ids)
                return
            status = self.ticket_status(open_ticket, question.language)
            if answer.route == "forward":  # it only adds to the ticket: a receipt
                forwarded = _FORWARDED[question.language].format(number=open_ticket.number)
                yield Reply(f"{forwarded} {status}", None, None, open_ticket, forwarded=True, **ids)
                return
            seen = _STATUS[question.language]["seen"].format(number=open_ticket.number)
            shown = f"{answer.text}\n\n{seen} {status}"
            message_id = self._store_answer(session_id, question.text, answer, shown, latency_ms)
            yield Reply(shown, answer, message_id, open_ticket, **ids)
            return

        ticket = None
        shown = answer.text
        draft_for = None
        if answer.handoff and view == "customer":
            # "Mit Mitarbeiter sprechen" after the topics offered: the question the team must
            # answer is the one before it.
            asked = turns[-1].question if answer.handoff_reason == "asked_for_human" and turns \
                and turns[-1].suggestions else answer.question
            ticket = self.state.open_ticket(session_id, answer.handoff_reason or "low_confidence",
                                            asked, [], "")
            if contact:
                self.state.set_contact(ticket.id, contact)
            shown = (f"{answer.text} {_TICKET_NOTE[answer.language].format(number=ticket.number)}"
                     f" {self.ticket_status(ticket, answer.language)}")
            # The draft searches with the rewritten follow-up, which carries the product.
            draft_for = (ticket.id, answer.retrieval_query or answer.question)
        message_id = self._store_answer(session_id, question.text, answer, shown, latency_ms)
        if ticket is not None:
            self._notify("ticket.opened", ticket)
        if draft_for:
            self.draft_later(*draft_for)
        yield Reply(shown, answer, message_id, ticket, **ids)

    def complete(self, earlier: Sequence[tuple[str, str]], text: str,
                 client: str | None = None) -> Iterator[str | Reply]:
        """One exchange of a client that sends the whole conversation each time (the
        OpenAI-compatible route): ``earlier`` holds the (question, answer) turns before
        ``text``. A conversation is recorded for it, with those turns, so the KPIs count it
        and a handoff's ticket shows the agent everything that was said. Always the
        customer view. The reply carries the conversation's id and secret, so the client
        can go on through ``/v1/chat`` instead."""
        Question.of(text)  # an invalid message is refused before anything is stored
        # The earlier turns kept are stored and read too: they count with the message.
        self._check_limits(None, client, [text, *(t for turn in earlier[-MAX_CLIENT_TURNS:]
                                                  for t in turn)])
        session_id, secret = self.start_conversation("customer")
        # The client's account of the conversation, not Lotse's record of it: the last
        # turns only, each cut to a message's length, and its answers under a role of
        # their own, so no agent, webhook or export takes them for something Lotse said.
        for question, answer in earlier[-MAX_CLIENT_TURNS:]:
            self.state.add_message(session_id, CUSTOMER, question[:MAX_QUESTION_CHARS])
            if answer:
                self.state.add_message(session_id, CLIENT_HISTORY, answer[:MAX_QUESTION_CHARS])
        for item in self.stream(session_id, text, "customer"):
            yield replace(item, secret=secret) if isinstance(item, Reply) else item

    def _store_answer(self, session_id: str, question: str, answer: Answer, shown: str,
                      latency_ms: float) -> int:
        record = {**answer.to_dict(), "retrieval_query": answer.retrieval_query,
                  "kind": answer.kind, "grounding": answer.grounding, "advice": answer.advice}
        message_id = self.state.add_message(session_id, "bot", shown, answer=record,
                                            latency_ms=latency_ms)
        self.record("answer", session_id, latency_ms, kind=answer.kind,
                    handoff=answer.handoff, reason=answer.handoff_reason,
                    confidence=answer.confidence, question=question,
                    generated=bool(answer.grounding.get("backend")),
                    sources=sorted({c.source for c in answer.citations}),
                    blocked=len(answer.grounding.get("dropped", [])),
                    advice=answer.grounding.get("advice"), products=len(answer.products),
                    route=answer.route, topic_chosen=bool(answer.grounding.get("topic_chosen")))
        return message_id

    def ticket_status(self, ticket: Ticket, language: str) -> str:
        """Where an open ticket stands, for the customer: waiting (with the expected time,
        or outside business hours when the team is back and the offer of an e-mail), taken
        by an agent, or answered by one since the customer last wrote."""
        language = language if language in _STATUS else "de"
        texts = _STATUS[language]
        transcript = self.state.transcript(ticket.session_id)
        roles = [m.role for m in transcript if m.role in ("customer", "agent")]
        if "agent" in roles and roles[-1] == "agent":
            return texts["answered"]
        if ticket.status == "taken":
            return texts["taken"]
        mailed = self.mail is not None and self.state.contact_of(ticket.id) is not None
        if not self.hours.is_open():
            away = _AWAY[language]
            when = self.hours.when_back(language=language)
            parts = [away["away"].format(when=when) if when else away["away_unknown"]]
            if mailed:
                parts.append(_EMAIL_ON_FILE[language])
            elif self.mail is not None:
                parts.append(away["offer"])
            parts.append(away["meanwhile"])
            return " ".join(parts)
        minutes = self.engine.settings.server.expected_wait_minutes
        wait = texts["wait"].format(minutes=minutes) if minutes else ""
        status = texts["open"].format(wait=wait)
        return f"{status} {_EMAIL_ON_FILE[language]}" if mailed else status

    def offers_email(self, ticket: Ticket) -> bool:
        """Whether the customer is being offered the answer by e-mail: out of hours, with
        e-mail set up and no address on file yet."""
        return (self.mail is not None and not self.hours.is_open()
                and self.state.contact_of(ticket.id) is None)

    def give_email(self, session_id: str, email: str, consent: bool) -> str:
        """Keep ``email`` for the answer to the session's open ticket (REST and widgets that
        ask in a form of their own); returns it masked. Needs consent, an open ticket and
        e-mail delivery being set up."""
        if not consent:
            raise InvalidInput("the customer's consent is needed to keep an e-mail address")
        if self.mail is None:
            raise InvalidInput("answers by e-mail are not set up here (mail.host is empty)")
        email = (email or "").strip()
        if not email or find_email(email) != email:
            raise InvalidInput(f"{email[:80]!r} is not an e-mail address")
        ticket = self.state.open_ticket_of(check_session_id(session_id))
        if ticket is None:
            raise InvalidInput("this conversation has no open ticket to answer by e-mail")
        self.state.set_contact(ticket.id, email)
        self.record("email_consent", session_id)
        return mask_email(email)

    def draft_later(self, ticket_id: int, question: str) -> Future:
        """Write the agent's draft for a new ticket in the background; ``ticket`` writes it
        on the spot if an agent opens the ticket first."""
        future = self._drafter.submit(self._fill_draft, ticket_id, question)
        self._drafting[ticket_id] = future
        return future

    def _fill_draft(self, ticket_id: int, question: str) -> None:
        try:
            ticket = self.state.ticket(ticket_id)
            if not ticket.draft and ticket.status != "closed":
                self.state.save_draft(ticket_id, *self._draft(question, ticket.reason))
        except Exception:  # the draft is a convenience; the ticket stands without it
            log.exception("no draft for ticket %s", ticket_id)
        finally:
            self._drafting.pop(ticket_id, None)

    # -- conversations and their owners ---------------------------------------------------
    def start_conversation(self, view: str = "customer") -> tuple[str, str]:
        """A new conversation's id and its secret (192 random bits; only a hash is stored)."""
        session_id = secrets.token_hex(16)
        secret = secrets.token_urlsafe(24)
        self.state.ensure_session(session_id, role=view)
        self.state.set_secret(session_id, content_hash(secret))
        return session_id, secret

    def claim(self, session_id: str, secret: str) -> str:
        """The conversation of a web-chat cookie: resumed when the secret matches, begun
        under this id and secret when the id is new. Only for ids and secrets this server
        chose (the chat page's signed cookie): a made-up pair would become a conversation
        whose secret a stranger knows."""
        check_session_id(session_id)
        if self.state.secret_hash(session_id) is None and self.state.session_status(session_id) is None:
            self.state.ensure_session(session_id)
            self.state.set_secret(session_id, content_hash(secret))
        return self.authorize(session_id, secret)

    def authorize(self, session_id: str | None, secret: str | None) -> str:
        """``session_id`` if ``secret`` is its secret; ``NotYourConversation`` otherwise, the
        same for a wrong secret and an id that does not exist (no way to probe for ids)."""
        stored = self.state.secret_hash(session_id) if session_id else None
        if not (stored and secret and hmac.compare_digest(stored, content_hash(secret))):
            raise NotYourConversation("no conversation with this id and secret")
        return session_id

    def conversation(self, session_id: str) -> dict[str, Any]:
        """A conversation as its customer sees it: the messages (customer, bot, agent, system
        notices and a client's history, with the time and, for bot answers, the citations)."""
        messages = []
        for m in self.transcript(session_id):
            item = {"role": shown_role(m.role), "text": m.text, "time": m.created_at}
            if m.role == BOT:
                item["citations"] = m.answer.get("citations", [])
            messages.append(item)
        ticket = self.state.latest_ticket_of(session_id)
        return {"session_id": session_id, "messages": messages, "ticket": None if ticket is None
                else {"number": ticket.number, "status": ticket.status,
                      "reason": ticket.reason, "created_at": ticket.created_at}}

    def transcript(self, session_id: str) -> list[Message]:
        """A conversation as its customer sees it, oldest first: the stored (redacted) texts,
        except that the team's replies read as the agent wrote them while the ticket is open
        (their originals are kept until it closes, then the redacted copy is all there is).
        An agent writes for this customer; redacting them would garble order and parcel
        numbers that only look like personal data."""
        check_session_id(session_id)
        return self.state.transcript(session_id, originals_of=(AGENT,))

    def request_human(self, session_id: str | None, language: str = "de",
                      client: str | None = None, reason: str = "asked_for_human",
                      contact: str | None = None, question: str | None = None) -> Reply:
        """The "talk to a person" button: a ticket without a bot answer first. It counts
        against the same per-minute limits as a message. ``None`` starts a conversation
        (after the limit check), whose id and secret the reply carries. Channels hand over
        for their own ``reason`` (an e-mail too long to answer), with the ``question`` the
        ticket is about and the ``contact`` address it is answered at."""
        secret = None
        if session_id is None:
            self._check_limits(None, client)
            session_id, secret = self.start_conversation()
        else:
            check_session_id(session_id)
            self._check_limits(session_id, client)
        self.state.ensure_session(session_id)
        ids = {"session_id": session_id, "secret": secret}
        existing = self.state.open_ticket_of(session_id)
        if existing:  # no receipt for a message that was never sent: where the ticket stands
            text = (f"{_ALREADY[language].format(number=existing.number)} "
                    f"{self.ticket_status(existing, language)}")
            return Reply(text, None, None, existing, forwarded=True, **ids)
        if question is None:
            turns = self.state.turns(session_id, last=1)
            question = turns[-1].question if turns else ""
        ticket = self.state.open_ticket(session_id, reason, question, [], "")
        if contact:
            self.state.set_contact(ticket.id, contact)
        if question:
            self.draft_later(ticket.id, question)
        text = (f"{handoff_message(reason, language)} "
                f"{_TICKET_NOTE[language].format(number=ticket.number)} "
                f"{self.ticket_status(ticket, language)}")
        message_id = self.state.add_message(session_id, "bot", text,
                                            answer={"kind": "ticket_notice", "handoff": True,
                                                    "handoff_reason": reason})
        self.record("answer", session_id, None, kind="handoff", handoff=True,
                     reason=reason, question=question, button=True)
        self._notify("ticket.opened", ticket)
        return Reply(text, None, message_id, ticket, **ids)

    def feedback(self, session_id: str, rating: int, message_id: int | None = None,
                 comment: str = "", client: str | None = None) -> int:
        """Store a rating; it counts against the same per-minute limit as messages."""
        self._check_limits(session_id, client)
        feedback_id = self.state.add_feedback(session_id, rating, message_id, comment)
        question = ""
        if message_id is not None:
            transcript = self.state.transcript(session_id)
            ids = [m.id for m in transcript]
            if message_id in ids:
                before = [m for m in transcript[: ids.index(message_id)] if m.role == "customer"]
                question = before[-1].text if before else ""
        self.record("feedback", session_id, float(rating), question=question)
        return feedback_id

    def copilot(self, question: str) -> Answer:
        """An agent's own question, answered from public and internal documents.

        Always the best quoted answer with its confidence, never a handoff (the agent
        is the human). Not part of any customer conversation, so it counts in no
        customer KPI.
        """
        answer = self.engine.chain.suggest(question, view="agent")
        self.record("copilot", "", kind=answer.kind, handoff=answer.handoff)
        return answer

    def queue(self, status: str | None = "open") -> list[Ticket]:
        """Tickets not yet closed (``status=None``: all), newest first."""
        if status == "open":
            return [t for t in self.state.tickets() if t.status != "closed"]
        return self.state.tickets(status)

    def ticket(self, ticket_id: int) -> Ticket:
        """One ticket with its draft reply: the one being written is waited for; one that was
        never started (this process did not open the ticket) is written now."""
        pending = self._drafting.get(ticket_id)
        if pending is not None:
            pending.result()
        ticket = self.state.ticket(ticket_id)
        if ticket.status != "closed" and not ticket.draft and ticket.question.strip():
            draft, sources = self._draft(ticket.question, ticket.reason)
            ticket = self.state.save_draft(ticket_id, draft, sources)
        return ticket

    def ticket_detail(self, ticket_id: int) -> tuple[Ticket, list[Message]]:
        """A ticket with its draft and its transcript; unredacted only while the ticket is open."""
        ticket = self.ticket(ticket_id)
        return ticket, self.state.transcript(ticket.session_id,
                                             unredacted=ticket.status != "closed")

    def seen(self, ticket_id: int, transcript: list[Message]) -> None:
        """An agent has had ``transcript`` of the ticket on screen: its messages are read."""
        if transcript:
            self.state.mark_read(ticket_id, transcript[-1].id)

    def unread(self, ticket_id: int) -> int:
        """Customer messages the agents have not had on screen yet."""
        return self.state.unread(ticket_id)

    def queue_details(self, status: str | None = "open") -> list[tuple[Ticket, list[Message]]]:
        """``queue`` with each ticket's draft and transcript, for the REST handoff list."""
        return [self.ticket_detail(t.id) for t in self.queue(status)]

    def take(self, ticket_id: int, agent: str) -> Ticket:
        ticket = self.state.take(ticket_id, agent)
        self.record("ticket_taken", ticket.session_id)
        self.state.audit(agent, "ticket_take", ticket.number)
        return ticket

    def agent_reply(self, ticket_id: int, agent: str, text: str) -> SentReply:
        """Send an agent's reply into the customer's chat and, when the customer left an
        address for this ticket, by e-mail too (a failed e-mail is reported, not raised:
        the reply is in the chat either way)."""
        message_id = self.state.reply(ticket_id, agent, text)
        ticket = self.state.ticket(ticket_id)
        self.record("agent_reply", ticket.session_id)
        self.state.audit(agent, "ticket_reply", ticket.number)
        self._notify("agent.reply", ticket, text=text, agent=agent)
        email = self.state.contact_of(ticket_id) if self.mail else None
        if not email:
            return SentReply(message_id)
        started = time.perf_counter()
        try:
            self.mail.deliver(email, ticket, text, detect_language(ticket.question or text))
        except Exception as exc:  # the SMTP server's refusal, unreachable host, timeout …
            # The exception's text may hold the address (SMTPRecipientsRefused does): only
            # its kind and the server's code are shown and logged.
            code = getattr(exc, "smtp_code", None) or getattr(exc, "errno", None)
            reason = type(exc).__name__ + (f" ({code})" if code else "")
            log.warning("e-mail for ticket %s not sent: %s", ticket.number, reason)
            self.record("mail_failed", ticket.session_id)
            return SentReply(message_id, mask_email(email), reason)
        self.record("mail_sent", ticket.session_id, 1000 * (time.perf_counter() - started))
        return SentReply(message_id, mask_email(email))

    def close_ticket(self, ticket_id: int, resolved: bool, by: str = "") -> Ticket:
        """Close with a resolution flag (first-contact resolution); the customer is told
        that Lotse answers again from now on. ``by``: the staff member, for the audit log."""
        ticket = self.state.close(ticket_id, resolved)
        self.record("ticket_closed", ticket.session_id, 1.0 if resolved else 0.0)
        if by:
            self.state.audit(by, "ticket_close", ticket.number,
                             "resolved" if resolved else "unresolved")
        self._notify("ticket.closed", ticket, resolved=resolved)
        language = detect_language(ticket.question) if ticket.question else "de"
        self.state.add_message(ticket.session_id, "notice",
                               _CLOSED[language].format(number=ticket.number))
        return ticket

    def _draft(self, question: str, reason: str) -> tuple[str, list[dict]]:
        """A suggested reply for the agent, with citations, from the agent's view.

        Always a complete message in the customer's language: an opening that fits
        why the customer came, the best quoted sentences with [n], a closing. When
        nothing fits, a marked gap for the agent to fill instead of a guess.
        """
        if not question.strip():
            return "", []
        suggestion = self.engine.chain.suggest(question[:MAX_QUESTION_CHARS], view="agent")
        language = suggestion.language if suggestion.language in _DRAFT else "de"
        texts = _DRAFT[language]
        sources = [{**c.to_dict(), "audience": c.audience} for c in suggestion.citations]
        if not sources:
            sources = [{"n": i + 1, "source": h.chunk.source, "title": h.chunk.title,
                        "section": h.chunk.section, "snippet": h.chunk.text[:240],
                        "score": round(h.score, 4), "audience": h.chunk.audience}
                       for i, h in enumerate(suggestion.hits[:3])]
        body = suggestion.text or texts["gap"]
        opening = texts["sorry"] if reason == "negative_sentiment" else texts["hello"]
        closing = texts["closing"].format(brand=self.brand)
        return f"{opening}\n\n{body}\n\n{closing}", sources

    # -- outgoing webhooks (bot.channels.webhooks) ----------------------------------
    def webhook_deliveries(self, status: str | None = None) -> list[Delivery]:
        """The webhook outbox, newest first; ``status`` dead is the dead-letter list."""
        if status not in (None, "pending", "delivered", "dead"):
            raise StateError(f"status must be pending, delivered or dead, not {status!r}")
        return self.state.deliveries(status)

    def replay_webhook(self, delivery_id: int) -> Delivery:
        """Send a dead delivery again (its signature is made anew when it is sent)."""
        return self.state.replay_delivery(delivery_id)

    # -- KPIs and health -------------------------------------------------------
    def warm_up(self) -> None:
        """One throwaway question, so the first customer does not pay for loading the model
        weights and indexes. Stores nothing."""
        self.engine.chain.ask("Wie lange dauert der Versand?", view="customer")

    def kpis(self) -> dict[str, Any]:
        """Every KPI the dashboard and ``GET /v1/kpis`` show."""
        return kpis(self.state, self.engine.embedder)

    def health(self) -> dict[str, Any]:
        """The live generation, for ``/healthz``."""
        gen = self.engine.store.current()
        return {"status": "ok", "generation": gen.id if gen else None,
                "chunks": gen.info.get("chunks") if gen else 0}


def mask_email(email: str) -> str:
    """``anna.muster@example.de`` as ``a…@example.de``: enough to recognise, not to copy."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}…@{domain}"


@dataclass(frozen=True)
class ChatServices:
    """What the interfaces (REST, web pages, CLI) format: built by ``bot.wiring.build_chat``."""

    chat: ChatService
    admin: AdminService
    faq: FaqLoop
    credentials: Credentials
    logins: LoginSessions
    documents: Any = None  # bot.chat.documents.DocumentBrowser
    scheduler: Any = None  # bot.chat.schedule.IngestScheduler
    # Background workers `lotse serve` starts and stops: the ingest schedule, the webhook
    # sender (webhooks.urls) and the mailbox poller (mailbox.host).
    workers: list[Any] = field(default_factory=list)
    chatwoot: Any = None  # bot.channels.chatwoot.ChatwootConnector when chatwoot.url is set
