"""Conversations, feedback, tickets and events, in SQLite by default or any SQLAlchemy URL.

Every write is one committed transaction, so a restart (or a kill -9) loses
nothing that was acknowledged. Stored texts are redacted (``bot.chat.pii``); the
original of a redacted message is kept apart, only while a ticket of its
session is open, for the agent's live view, and is purged when the ticket is
closed or the session deleted.

    >>> state = StateStore("sqlite:///.lotse/state.db")
    >>> sid = state.new_session()
    >>> state.add_message(sid, "customer", "Meine Mail ist anna@example.de")
    >>> state.transcript(sid)[0].text
    'Meine Mail ist [E-MAIL]'
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from bot.answer.followup import Turn
from bot.chat import migrations
from bot.chat.pii import redact
from kb.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

# One definition of a session id for the tables, the REST schema and the services.
SESSION_ID_MAX = 64
SESSION_ID_PATTERN = rf"^[A-Za-z0-9_-]{{1,{SESSION_ID_MAX}}}$"
_SESSION_ID = re.compile(SESSION_ID_PATTERN)


class StateError(InvalidInput):
    """A session or ticket is not in a state that allows the action."""


class NoSuchRecord(StateError, NotFound):
    """A session or ticket does not exist."""


def check_session_id(session_id: str) -> str:
    """``session_id`` if it is one Lotse can store (letters, digits, ``_``, ``-``; at most
    ``SESSION_ID_MAX``); ``StateError`` otherwise."""
    if not isinstance(session_id, str) or not _SESSION_ID.match(session_id):
        raise StateError(f"session id {str(session_id)[:80]!r} is not 1-{SESSION_ID_MAX} "
                         "letters, digits, '_' or '-'")
    return session_id


class _Base(DeclarativeBase):
    pass


class _Session(_Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(SESSION_ID_MAX), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="de")
    status: Mapped[str] = mapped_column(String(16), default="bot")  # bot | handoff | closed


class _Message(_Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    role: Mapped[str] = mapped_column(String(16))  # bot.chat.roles: customer, bot, agent, …
    text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")  # the contract JSON of a bot answer
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class _RawText(_Base):
    __tablename__ = "raw_texts"
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"),
                                            primary_key=True)
    session_id: Mapped[str] = mapped_column(String(SESSION_ID_MAX), index=True)
    text: Mapped[str] = mapped_column(Text)


class _Feedback(_Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    rating: Mapped[int] = mapped_column(Integer)  # +1 or -1
    comment: Mapped[str] = mapped_column(Text, default="")


class _Ticket(_Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    sources: Mapped[str] = mapped_column(Text, default="[]")
    draft: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | taken | closed
    assignee: Mapped[str] = mapped_column(String(64), default="")
    resolved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class _Event(_Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(SESSION_ID_MAX), index=True)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    data: Mapped[str] = mapped_column(Text, default="{}")


class _SessionSecret(_Base):
    """The hash of a conversation's secret: whoever holds the secret may continue it."""
    __tablename__ = "session_secrets"
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))


class _TicketRead(_Base):
    """The newest message of a ticket's conversation that an agent has had on screen."""
    __tablename__ = "ticket_reads"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           primary_key=True)
    message_id: Mapped[int] = mapped_column(Integer)


class _TicketContact(_Base):
    """The e-mail address a customer gave, with consent, for the answer to one open ticket.
    Deleted when the ticket closes: it is kept for nothing else."""
    __tablename__ = "ticket_contacts"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           primary_key=True)
    session_id: Mapped[str] = mapped_column(String(SESSION_ID_MAX), index=True)
    email: Mapped[str] = mapped_column(String(320))
    consented_at: Mapped[float] = mapped_column(Float)


class _FaqProposal(_Base):
    """An agent's reply proposed as an FAQ entry, until an admin approves or rejects it."""
    __tablename__ = "faq_proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[float] = mapped_column(Float)
    proposed_by: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed|approved|rejected
    decided_by: Mapped[str] = mapped_column(String(64), default="")


class _StaffLogin(_Base):
    """A staff UI login; the key is a hash of the cookie, so the table yields no cookie."""
    __tablename__ = "staff_logins"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    expires: Mapped[float] = mapped_column(Float, index=True)


class _LoginAttempt(_Base):
    """One login attempt: by name and client address, so throttling one pair locks nobody
    else out, and the per-address rate holds across every Lotse process."""
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)


class _Full(Exception):
    """A rate limit is full: raised inside the transaction so that nothing is counted."""

    def __init__(self, key: str, free_at: float) -> None:
        self.key, self.free_at = key, free_at


class _RateHit(_Base):
    """One message counted against a rate limit ("session:…" or "client:…"), so the
    limits hold across every Lotse process on this database."""
    __tablename__ = "rate_hits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), index=True)
    at: Mapped[float] = mapped_column(Float, index=True)


class _WebhookDelivery(_Base):
    """One event for one receiver: the outbox the webhook sender works through, and the
    dead-letter list the admin sees (``status`` dead) and can replay."""
    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[float] = mapped_column(Float)
    event: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent, as UTF-8
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[float] = mapped_column(Float, index=True)  # due, or leased until
    lease: Mapped[str] = mapped_column(String(32), default="", index=True)  # the last claim
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class _MailThread(_Base):
    """A conversation that runs by e-mail: the customer's address (the channel itself,
    kept with the conversation and erased with it) and the subject of its first message."""
    __tablename__ = "mail_threads"
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class _MailMessage(_Base):
    """One e-mail seen or sent, by the hash of its Message-ID: a received one is claimed
    here before it is answered, so several Lotse processes answer it once, and replies
    find their conversation through the ids they quote."""
    __tablename__ = "mail_messages"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str | None] = mapped_column(String(SESSION_ID_MAX), nullable=True,
                                                   index=True)
    direction: Mapped[str] = mapped_column(String(8))  # in | out
    message_id: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(40), default="claimed")
    # Lotse's reply while it waits to be sent (JSON), how often sending failed, and when it
    # may be tried next (a sender's lease, then the backoff).
    reply: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[float] = mapped_column(Float, default=0.0)


class _Lease(_Base):
    """A job only one process may do at a time (reading the mailbox), until ``until``."""
    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[float] = mapped_column(Float)


class _IngestRun(_Base):
    """One ingest: who or what started it, what it covered, and what came of it."""
    __tablename__ = "ingest_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[float] = mapped_column(Float, index=True)
    finished_at: Mapped[float] = mapped_column(Float)
    trigger: Mapped[str] = mapped_column(String(16))  # admin | schedule | document | cli
    by: Mapped[str] = mapped_column(String(64), default="")
    targets: Mapped[str] = mapped_column(Text)  # JSON list: "folders", source URLs, documents
    report: Mapped[str] = mapped_column(Text)  # JSON: the sync report, or {"error": …}


class _AuditEntry(_Base):
    """A change staff made (to the knowledge base, a ticket, an account), and who made it."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    who: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class IngestRun:
    id: int
    started_at: float
    finished_at: float
    trigger: str
    by: str
    targets: list[str]
    report: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "started_at": self.started_at, "finished_at": self.finished_at,
                "trigger": self.trigger, "by": self.by, "targets": self.targets,
                "report": self.report}


@dataclass(frozen=True)
class AuditEntry:
    at: float
    who: str
    action: str
    target: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "who": self.who, "action": self.action, "target": self.target,
                "detail": self.detail}


@dataclass(frozen=True)
class MailThread:
    session_id: str
    address: str
    subject: str
    message_ids: list[str]  # oldest first, the last 20, for References
    last_received: str  # for In-Reply-To


def mail_key(message_id: str) -> str:
    """The stored key of a Message-ID (or of a message's bytes when it has none)."""
    return hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Delivery:
    id: int
    created_at: float
    event: str
    url: str
    body: str
    status: str
    attempts: int
    next_at: float
    last_error: str
    delivered_at: float | None
    lease: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("id", "created_at", "event", "url", "status",
                                               "attempts", "next_at", "last_error",
                                               "delivered_at")}


@dataclass(frozen=True)
class Message:
    id: int
    session_id: str
    created_at: float
    role: str
    text: str
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ticket:
    id: int
    number: str
    session_id: str
    created_at: float
    reason: str
    question: str
    sources: list[dict[str, Any]]
    draft: str
    status: str
    assignee: str
    resolved: bool | None


@dataclass(frozen=True)
class FaqProposal:
    id: int
    created_at: float
    proposed_by: str
    question: str
    answer: str
    status: str
    decided_by: str


@dataclass(frozen=True)
class EventRecord:
    session_id: str
    created_at: float
    kind: str
    value: float | None
    data: dict[str, Any]


def ticket_number(ticket_id: int) -> str:
    return f"LT-{ticket_id:06d}"


def _ticket(row: _Ticket) -> Ticket:
    return Ticket(row.id, ticket_number(row.id), row.session_id, row.created_at, row.reason,
                  row.question, json.loads(row.sources or "[]"), row.draft, row.status,
                  row.assignee, row.resolved)


def _proposal(row: _FaqProposal) -> FaqProposal:
    return FaqProposal(row.id, row.created_at, row.proposed_by, row.question, row.answer,
                       row.status, row.decided_by)


def _message(row: _Message, text: str | None = None) -> Message:
    return Message(row.id, row.session_id, row.created_at, row.role,
                   text if text is not None else row.text, json.loads(row.answer or "{}"))


def _run(row: _IngestRun) -> IngestRun:
    return IngestRun(row.id, row.started_at, row.finished_at, row.trigger, row.by,
                     json.loads(row.targets), json.loads(row.report))


def _delivery(row: _WebhookDelivery) -> Delivery:
    return Delivery(row.id, row.created_at, row.event, row.url, row.body, row.status,
                    row.attempts, row.next_at, row.last_error, row.delivered_at, row.lease)


class StateStore:
    """All durable state of the bot layer behind plain methods and frozen dataclasses."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        migrations.upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._rate_swept = 0.0

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as db:
            yield db

    # -- sessions and messages ------------------------------------------------------
    def new_session(self, role: str = "customer", language: str = "de") -> str:
        sid = uuid.uuid4().hex
        with self._tx() as db:
            db.add(_Session(id=sid, created_at=time.time(), role=role, language=language))
        return sid

    def set_secret(self, session_id: str, secret_hash: str) -> None:
        with self._tx() as db:
            if db.get(_Session, session_id) is None:
                raise NoSuchRecord(f"no session {session_id}")
            db.merge(_SessionSecret(session_id=session_id, secret_hash=secret_hash))

    def secret_hash(self, session_id: str) -> str | None:
        """The stored hash of a conversation's secret; None for an unknown conversation."""
        with self._tx() as db:
            row = db.get(_SessionSecret, session_id)
            return row.secret_hash if row else None

    def session_status(self, session_id: str) -> str | None:
        with self._tx() as db:
            row = db.get(_Session, session_id)
            return row.status if row else None

    def ensure_session(self, session_id: str, role: str = "customer") -> str:
        """The given session, created on first use (REST clients choose their own ids)."""
        with self._tx() as db:
            if db.get(_Session, session_id) is None:
                db.add(_Session(id=session_id, created_at=time.time(), role=role))
        return session_id

    def add_message(self, session_id: str, role: str, text: str,
                    answer: dict[str, Any] | None = None, latency_ms: float | None = None) -> int:
        clean = redact(text)
        with self._tx() as db:
            if db.get(_Session, session_id) is None:
                raise NoSuchRecord(f"no session {session_id}")
            row = _Message(session_id=session_id, created_at=time.time(), role=role, text=clean,
                           answer=json.dumps(_redacted(answer or {}), ensure_ascii=False),
                           latency_ms=latency_ms)
            db.add(row)
            db.flush()
            if clean != text:
                db.add(_RawText(message_id=row.id, session_id=session_id, text=text))
            return row.id

    def transcript(self, session_id: str, unredacted: bool = False,
                   originals_of: Collection[str] = ()) -> list[Message]:
        """The conversation, oldest first. ``unredacted`` shows originals only while a ticket
        of this session is open; otherwise the stored, redacted text. ``originals_of`` names
        roles whose originals are shown on the same terms without ``unredacted`` (an agent's
        reply reaches its customer as the agent wrote it)."""
        with self._tx() as db:
            rows = db.scalars(select(_Message).where(_Message.session_id == session_id)
                              .order_by(_Message.id)).all()
            raw: dict[int, str] = {}
            if (unredacted or originals_of) and self._has_open_ticket(db, session_id):
                raw = {r.message_id: r.text for r in db.scalars(
                    select(_RawText).where(_RawText.session_id == session_id))}
            return [_message(r, raw.get(r.id) if unredacted or r.role in originals_of else None)
                    for r in rows]

    def turns(self, session_id: str, last: int) -> list[Turn]:
        """The last ``last`` exchanges of a conversation, oldest first, for follow-up
        rewriting: each customer question with the bot's answer. Only the newest messages
        are read, so a conversation of thousands costs what a short one does (the chain
        reads ``reading.max_turns`` of them anyway)."""
        with self._tx() as db:
            rows = db.scalars(
                select(_Message).where(_Message.session_id == session_id,
                                       _Message.role.in_(("customer", "bot", "client_history")))
                .order_by(_Message.id.desc()).limit(2 * last + 1)).all()
            messages = [_message(r) for r in reversed(rows)]
        turns: list[Turn] = []
        for msg in messages:
            if msg.role == "customer":
                turns.append(Turn(msg.text))
            elif turns:  # a bot's answer, or a client's history
                # The question as it was searched: a follow-up already carries its product.
                question = msg.answer.get("retrieval_query") or turns[-1].question
                turns[-1] = Turn(question, msg.text, tuple(msg.answer.get("options", ())),
                                 msg.answer.get("advice"),
                                 tuple(msg.answer.get("suggestions", ())))
        return turns[-last:] if last > 0 else []

    # -- staff logins (shared by every Lotse process on this database) ------------------
    def add_login(self, token_hash: str, name: str, role: str, expires: float) -> None:
        with self._tx() as db:
            db.execute(delete(_StaffLogin).where(_StaffLogin.expires < time.time()))
            db.add(_StaffLogin(token_hash=token_hash, name=name, role=role, expires=expires))

    def login_of(self, token_hash: str) -> tuple[str, str, float] | None:
        """(name, role, expires) of a live login."""
        with self._tx() as db:
            row = db.get(_StaffLogin, token_hash)
            if row is None or row.expires < time.time():
                return None
            return row.name, row.role, row.expires

    def drop_login(self, token_hash: str) -> None:
        with self._tx() as db:
            db.execute(delete(_StaffLogin).where(_StaffLogin.token_hash == token_hash))

    def add_login_attempt(self, name: str, client: str, ok: bool) -> None:
        with self._tx() as db:
            db.add(_LoginAttempt(name=name[:64], client=client[:64], at=time.time(), ok=ok))

    def login_attempts(self, since: float, client: str,
                       name: str | None = None) -> list[tuple[float, bool]]:
        """(time, succeeded) of the attempts from ``client`` (for ``name``) since ``since``,
        oldest first; older ones are dropped on the way."""
        with self._tx() as db:
            db.execute(delete(_LoginAttempt).where(_LoginAttempt.at < time.time() - 86400))
            query = select(_LoginAttempt).where(_LoginAttempt.at >= since,
                                                _LoginAttempt.client == client[:64])
            if name is not None:
                query = query.where(_LoginAttempt.name == name[:64])
            return [(r.at, r.ok) for r in db.scalars(query.order_by(_LoginAttempt.id))]

    # -- rate limits (shared by every Lotse process on this database) --------------------
    def take_slot(self, limits: Sequence[tuple[str, int]], window: float,
                  now: float, units: int = 1) -> tuple[str, float] | None:
        """Count a message of ``units`` rate units (at most a key's whole limit) under every
        ``(key, limit)`` of the sliding ``window``, or none when one would overflow: then
        (that key, the time enough of its counted units have left the window). Atomic
        across processes: each key is locked first (an advisory lock on PostgreSQL; SQLite
        has one writer at a time and the insert comes first)."""
        cost = {k[:160]: min(units, limit) for k, limit in limits}
        keys = sorted(cost)
        if now - self._rate_swept > window:
            self._sweep_rate_hits(now - window)
            self._rate_swept = now
        try:
            with self._tx() as db:
                if self.engine.dialect.name == "postgresql":
                    for key in keys:  # sorted: two processes never wait on each other in a cycle
                        db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
                db.add_all([_RateHit(key=k, at=now) for k in keys for _ in range(cost[k])])
                db.flush()
                for key, limit in limits:
                    key = key[:160]
                    db.execute(delete(_RateHit).where(_RateHit.key == key,
                                                      _RateHit.at <= now - window))
                    hits = list(db.scalars(select(_RateHit.at).where(_RateHit.key == key)
                                           .order_by(_RateHit.at)))
                    if len(hits) > limit:  # this message's own rows are among them
                        # rolls the count back
                        raise _Full(key, hits[len(hits) - limit - 1] + window)
        except _Full as full:
            return full.key, full.free_at
        return None

    def _sweep_rate_hits(self, before: float) -> None:
        """Forget the windows of keys that went quiet, in a transaction of its own: a sweep
        that loses a race with another process's (PostgreSQL may end one as a deadlock)
        is simply left to the next minute."""
        try:
            with self._tx() as db:
                db.execute(delete(_RateHit).where(_RateHit.at <= before))
        except DBAPIError as exc:
            log.info("rate-limit sweep skipped: %s", exc.__class__.__name__)

    # -- feedback ---------------------------------------------------------------------
    def add_feedback(self, session_id: str, rating: int, message_id: int | None = None,
                     comment: str = "") -> int:
        if rating not in (1, -1):
            raise StateError("rating must be +1 (thumbs up) or -1 (thumbs down)")
        with self._tx() as db:
            if db.get(_Session, session_id) is None:
                raise NoSuchRecord(f"no session {session_id}")
            row = _Feedback(session_id=session_id, message_id=message_id, created_at=time.time(),
                            rating=rating, comment=redact(comment or ""))
            db.add(row)
            db.flush()
            return row.id

    def feedback(self) -> list[tuple[str, int | None, int, str]]:
        with self._tx() as db:
            return [(f.session_id, f.message_id, f.rating, f.comment)
                    for f in db.scalars(select(_Feedback).order_by(_Feedback.id))]

    # -- tickets ------------------------------------------------------------------------
    def open_ticket(self, session_id: str, reason: str, question: str,
                    sources: list[dict[str, Any]], draft: str) -> Ticket:
        now = time.time()
        with self._tx() as db:
            session = db.get(_Session, session_id)
            if session is None:
                raise NoSuchRecord(f"no session {session_id}")
            existing = db.scalars(select(_Ticket).where(
                _Ticket.session_id == session_id, _Ticket.status != "closed")).first()
            if existing is not None:
                return _ticket(existing)
            session.status = "handoff"
            row = _Ticket(session_id=session_id, created_at=now, updated_at=now, reason=reason,
                          question=redact(question), sources=json.dumps(sources, ensure_ascii=False),
                          draft=draft)
            db.add(row)
            db.flush()
            return _ticket(row)

    def tickets(self, status: str | None = None) -> list[Ticket]:
        with self._tx() as db:
            query = select(_Ticket).order_by(_Ticket.id.desc())
            if status:
                query = query.where(_Ticket.status == status)
            return [_ticket(r) for r in db.scalars(query)]

    def ticket(self, ticket_id: int) -> Ticket:
        with self._tx() as db:
            row = db.get(_Ticket, ticket_id)
            if row is None:
                raise NoSuchRecord(f"no ticket {ticket_number(ticket_id)}")
            return _ticket(row)

    def mark_read(self, ticket_id: int, message_id: int) -> None:
        with self._tx() as db:
            row = db.get(_TicketRead, ticket_id)
            if row is None:
                db.add(_TicketRead(ticket_id=ticket_id, message_id=message_id))
            elif message_id > row.message_id:
                row.message_id = message_id

    def unread(self, ticket_id: int) -> int:
        """Customer messages of a ticket's conversation newer than what an agent has seen
        (all of them while no agent has looked)."""
        with self._tx() as db:
            ticket = db.get(_Ticket, ticket_id)
            if ticket is None:
                raise NoSuchRecord(f"no ticket {ticket_number(ticket_id)}")
            read = db.get(_TicketRead, ticket_id)
            query = select(_Message.id).where(_Message.session_id == ticket.session_id,
                                              _Message.role == "customer")
            if read is not None:
                query = query.where(_Message.id > read.message_id)
            return len(db.scalars(query).all())

    def open_ticket_of(self, session_id: str) -> Ticket | None:
        with self._tx() as db:
            row = db.scalars(select(_Ticket).where(_Ticket.session_id == session_id,
                                                   _Ticket.status != "closed")).first()
            return _ticket(row) if row else None

    def latest_ticket_of(self, session_id: str) -> Ticket | None:
        """The session's newest ticket, open or closed."""
        with self._tx() as db:
            row = db.scalars(select(_Ticket).where(_Ticket.session_id == session_id)
                             .order_by(_Ticket.id.desc())).first()
            return _ticket(row) if row else None

    def take(self, ticket_id: int, agent: str) -> Ticket:
        return self._update(ticket_id, status="taken", assignee=agent)

    def save_draft(self, ticket_id: int, draft: str, sources: list[dict[str, Any]]) -> Ticket:
        return self._update(ticket_id, draft=draft,
                            sources=json.dumps(sources, ensure_ascii=False))

    def reply(self, ticket_id: int, agent: str, text: str) -> int:
        """Send the agent's reply into the customer's conversation."""
        if not text.strip():
            raise StateError("the reply is empty")
        ticket = self._update(ticket_id, status="taken", assignee=agent)
        return self.add_message(ticket.session_id, "agent", text)

    def set_contact(self, ticket_id: int, email: str) -> None:
        """Keep ``email`` (given with consent) for the answer to this open ticket."""
        with self._tx() as db:  # checked and written together: a close in between wins
            ticket = db.get(_Ticket, ticket_id)
            if ticket is None:
                raise NoSuchRecord(f"no ticket {ticket_number(ticket_id)}")
            if ticket.status == "closed":
                raise StateError(f"ticket {ticket_number(ticket_id)} is closed")
            row = db.get(_TicketContact, ticket_id)
            if row is None:
                db.add(_TicketContact(ticket_id=ticket_id, session_id=ticket.session_id,
                                      email=email, consented_at=time.time()))
            else:
                row.email, row.consented_at = email, time.time()

    def contact_of(self, ticket_id: int) -> str | None:
        with self._tx() as db:
            row = db.get(_TicketContact, ticket_id)
            return row.email if row else None

    def close(self, ticket_id: int, resolved: bool) -> Ticket:
        ticket = self._update(ticket_id, status="closed", resolved=resolved)
        with self._tx() as db:
            db.execute(delete(_RawText).where(_RawText.session_id == ticket.session_id))
            db.execute(delete(_TicketContact).where(_TicketContact.ticket_id == ticket_id))
            session = db.get(_Session, ticket.session_id)
            if session is not None:
                session.status = "bot"
        return ticket

    def _update(self, ticket_id: int, **values: Any) -> Ticket:
        with self._tx() as db:
            row = db.get(_Ticket, ticket_id)
            if row is None:
                raise NoSuchRecord(f"no ticket {ticket_number(ticket_id)}")
            if row.status == "closed":
                raise StateError(f"ticket {ticket_number(ticket_id)} is closed")
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = time.time()
            return _ticket(row)

    @staticmethod
    def _has_open_ticket(db: Session, session_id: str) -> bool:
        return db.scalars(select(_Ticket.id).where(_Ticket.session_id == session_id,
                                                   _Ticket.status != "closed")).first() is not None

    # -- FAQ proposals from agents' replies ----------------------------------------------
    def propose_faq(self, agent: str, question: str, answer: str) -> FaqProposal:
        if not (question.strip() and answer.strip()):
            raise StateError("an FAQ proposal needs a question and an answer")
        with self._tx() as db:
            row = _FaqProposal(created_at=time.time(), proposed_by=agent,
                               question=redact(question.strip()), answer=redact(answer.strip()))
            db.add(row)
            db.flush()
            return _proposal(row)

    def faq_proposals(self, status: str | None = "proposed") -> list[FaqProposal]:
        with self._tx() as db:
            query = select(_FaqProposal).order_by(_FaqProposal.id)
            if status:
                query = query.where(_FaqProposal.status == status)
            return [_proposal(r) for r in db.scalars(query)]

    def decide_faq(self, proposal_id: int, status: str, by: str, question: str | None = None,
                   answer: str | None = None) -> FaqProposal:
        """Approve or reject a proposal, with the admin's edits of question and answer."""
        with self._tx() as db:
            row = db.get(_FaqProposal, proposal_id)
            if row is None:
                raise NoSuchRecord(f"no FAQ proposal {proposal_id}")
            if row.status != "proposed":
                raise StateError(f"FAQ proposal {proposal_id} is already {row.status}")
            if question is not None:
                row.question = redact(question.strip())
            if answer is not None:
                row.answer = redact(answer.strip())
            if not (row.question and row.answer):
                raise StateError(f"FAQ proposal {proposal_id} needs a question and an answer")
            row.status, row.decided_by = status, by
            return _proposal(row)

    def reopen_faq(self, proposal_id: int) -> None:
        """Back to "proposed" (an approval whose file could not be written or ingested)."""
        with self._tx() as db:
            row = db.get(_FaqProposal, proposal_id)
            if row is not None:
                row.status, row.decided_by = "proposed", ""

    # -- events ---------------------------------------------------------------------------
    # -- webhook outbox -----------------------------------------------------------------
    def queue_delivery(self, event: str, url: str, body: str) -> int:
        with self._tx() as db:
            row = _WebhookDelivery(created_at=time.time(), event=event, url=url, body=body,
                                   status="pending", attempts=0, next_at=time.time())
            db.add(row)
            db.flush()
            return row.id

    def claim_deliveries(self, lease: float, limit: int = 20) -> list[Delivery]:
        """Due pending deliveries, each leased to the caller for ``lease`` seconds: another
        process (or this one, after a crash) picks it up only when the lease runs out.

        One UPDATE claims them, so SQLite takes its write lock first (no reader waiting to
        become a writer) and PostgreSQL re-checks each row's due time after waiting for
        another claimer's lock: a row is claimed once."""
        now, token = time.time(), uuid.uuid4().hex
        due = (_WebhookDelivery.status == "pending", _WebhookDelivery.next_at <= now)
        first = select(_WebhookDelivery.id).where(*due).order_by(_WebhookDelivery.next_at) \
            .limit(limit).scalar_subquery()
        with self._tx() as db:
            db.execute(update(_WebhookDelivery).where(_WebhookDelivery.id.in_(first), *due)
                       .values(next_at=now + lease, lease=token)
                       .execution_options(synchronize_session=False))
            rows = db.scalars(select(_WebhookDelivery).where(_WebhookDelivery.lease == token)
                              .order_by(_WebhookDelivery.id)).all()
            return [_delivery(r) for r in rows]

    def delivery_done(self, delivery: Delivery, attempts: int) -> bool:
        """Delivered, if the caller's lease still holds (False: another sender has it now)."""
        return self._settle(delivery, status="delivered", attempts=attempts,
                            delivered_at=time.time(), last_error="")

    def delivery_failed(self, delivery: Delivery, attempts: int, error: str,
                        retry_at: float | None) -> bool:
        """A failed attempt: due again at ``retry_at``, or dead (None); only under the
        caller's lease, like ``delivery_done``."""
        return self._settle(delivery, attempts=attempts, last_error=error[:500],
                            status="pending" if retry_at is not None else "dead",
                            next_at=retry_at if retry_at is not None else time.time())

    def _settle(self, delivery: Delivery, **values: Any) -> bool:
        with self._tx() as db:
            done = db.execute(update(_WebhookDelivery).where(
                _WebhookDelivery.id == delivery.id, _WebhookDelivery.lease == delivery.lease,
                _WebhookDelivery.status == "pending").values(**values)
                .execution_options(synchronize_session=False))
            return done.rowcount == 1

    def deliveries(self, status: str | None = None, limit: int = 200) -> list[Delivery]:
        """Newest first; ``status`` pending, delivered or dead (None: all)."""
        query = select(_WebhookDelivery).order_by(_WebhookDelivery.id.desc()).limit(limit)
        if status:
            query = query.where(_WebhookDelivery.status == status)
        with self._tx() as db:
            return [_delivery(r) for r in db.scalars(query).all()]

    def replay_delivery(self, delivery_id: int) -> Delivery:
        """A dead delivery is due again now, with a fresh count of attempts."""
        with self._tx() as db:
            row = db.get(_WebhookDelivery, delivery_id)
            if row is None:
                raise NoSuchRecord(f"no webhook delivery {delivery_id}")
            if row.status != "dead":
                raise StateError(f"webhook delivery {delivery_id} is {row.status}, not dead")
            row.status, row.attempts, row.next_at = "pending", 0, time.time()
            return _delivery(row)

    # -- e-mail threads (bot.channels.mailbox) ----------------------------------------------
    def claim_mail(self, key: str, stale_after: float = 600.0) -> str:
        """Take a received e-mail for answering: ``taken``; ``busy`` while another taker has
        it (taken over once it left it unsettled for ``stale_after`` seconds: a crash);
        ``settled`` when it was dealt with."""
        now = time.time()
        try:
            with self._tx() as db:
                db.add(_MailMessage(key=key, direction="in", created_at=now))
            return "taken"
        except IntegrityError:  # the key exists: someone has it, or had it
            pass
        with self._tx() as db:
            taken = db.execute(update(_MailMessage).where(
                _MailMessage.key == key, _MailMessage.outcome == "claimed",
                _MailMessage.created_at < now - stale_after).values(created_at=now))
            if taken.rowcount == 1:
                return "taken"
            row = db.get(_MailMessage, key)
            return "busy" if row is None or row.outcome == "claimed" else "settled"

    def mail_outcome(self, key: str) -> str | None:
        with self._tx() as db:
            row = db.get(_MailMessage, key)
            return row.outcome if row else None

    def settle_mail(self, key: str, outcome: str, session_id: str | None = None,
                    message_id: str = "", reply: dict[str, Any] | None = None) -> None:
        """What became of a claimed e-mail. With a ``reply`` the outcome waits
        (``reply_pending``) until ``mail_reply_done`` says the reply went out."""
        values: dict[str, Any] = {"outcome": outcome[:40], "session_id": session_id,
                                  "message_id": message_id}
        if reply is not None:
            values.update(outcome="reply_pending", next_at=0.0,
                          reply=json.dumps({**reply, "outcome": outcome}, ensure_ascii=False))
        with self._tx() as db:
            db.execute(update(_MailMessage).where(_MailMessage.key == key).values(**values))

    def release_mail(self, key: str) -> None:
        """Give a claimed e-mail back, to be answered at the next look (a rate limit)."""
        with self._tx() as db:
            db.execute(delete(_MailMessage).where(_MailMessage.key == key,
                                                  _MailMessage.outcome == "claimed"))

    def pending_mail_replies(self, limit: int = 20) -> list[tuple[str, str, int]]:
        """Replies due to be sent: (key, session id, failed attempts), oldest first."""
        with self._tx() as db:
            rows = db.execute(select(_MailMessage.key, _MailMessage.session_id,
                                     _MailMessage.attempts)
                              .where(_MailMessage.outcome == "reply_pending",
                                     _MailMessage.next_at <= time.time())
                              .order_by(_MailMessage.created_at).limit(limit)).all()
        return [tuple(r) for r in rows]

    def take_mail_reply(self, key: str, attempts: int, lease: float) -> dict[str, Any] | None:
        """Take a due reply for one attempt at sending, for ``lease`` seconds (no other
        process sends it meanwhile); None when another took it since it was listed."""
        now = time.time()
        with self._tx() as db:
            taken = db.execute(update(_MailMessage).where(
                _MailMessage.key == key, _MailMessage.outcome == "reply_pending",
                _MailMessage.attempts == attempts, _MailMessage.next_at <= now)
                .values(attempts=attempts + 1, next_at=now + lease))
            if taken.rowcount != 1:
                return None
            return json.loads(db.get(_MailMessage, key).reply)

    def mail_reply_failed(self, key: str, retry_at: float) -> None:
        with self._tx() as db:
            db.execute(update(_MailMessage).where(_MailMessage.key == key,
                                                  _MailMessage.outcome == "reply_pending")
                       .values(next_at=retry_at))

    def mail_reply_done(self, key: str, outcome: str) -> None:
        """The reply went out (or, with an outcome such as ``reply_failed``, never will)."""
        with self._tx() as db:
            db.execute(update(_MailMessage).where(_MailMessage.key == key)
                       .values(outcome=outcome[:40], reply=""))

    def sent_mail(self, session_id: str, message_id: str) -> None:
        with self._tx() as db:
            db.add(_MailMessage(key=mail_key(message_id), session_id=session_id, direction="out",
                                message_id=message_id, created_at=time.time(), outcome="sent"))

    def mail_session_of(self, message_ids: Sequence[str], address: str) -> str | None:
        """The conversation whose e-mail from Lotse is one of ``message_ids`` (nearest first),
        if the conversation runs with ``address``: a customer's reply quotes Lotse's message,
        and quoting it from another address does not join someone else's thread."""
        keys = [mail_key(m) for m in message_ids[:50]]
        if not keys:
            return None
        with self._tx() as db:
            rows = db.execute(select(_MailMessage.key, _MailMessage.session_id)
                              .join(_MailThread, _MailThread.session_id == _MailMessage.session_id)
                              .where(_MailMessage.key.in_(keys), _MailMessage.direction == "out",
                                     _MailThread.address == address.lower())).all()
        found = dict(rows)
        return next((found[k] for k in keys if k in found), None)

    def mails_sent_to(self, address: str, since: float) -> int:
        """How many e-mails Lotse sent to ``address`` since ``since`` (loop protection)."""
        with self._tx() as db:
            return db.scalar(select(func.count()).select_from(_MailMessage)
                             .join(_MailThread, _MailThread.session_id == _MailMessage.session_id)
                             .where(_MailMessage.direction == "out",
                                    _MailMessage.created_at >= since,
                                    _MailThread.address == address.lower())) or 0

    def add_mail_thread(self, session_id: str, address: str, subject: str) -> None:
        with self._tx() as db:
            db.add(_MailThread(session_id=session_id, address=address.lower(),
                               subject=redact(subject[:500]), created_at=time.time()))

    def mail_thread(self, session_id: str) -> MailThread | None:
        with self._tx() as db:
            thread = db.get(_MailThread, session_id)
            if thread is None:
                return None
            rows = db.execute(select(_MailMessage.message_id, _MailMessage.direction)
                              .where(_MailMessage.session_id == session_id,
                                     _MailMessage.message_id != "")
                              .order_by(_MailMessage.created_at)).all()
            received = [m for m, direction in rows if direction == "in"]
            return MailThread(session_id, thread.address, thread.subject,
                              [m for m, _ in rows][-20:], received[-1] if received else "")

    def prune_mail(self, before: float) -> int:
        """Forget e-mails that belong to no conversation (machines' messages) seen before
        ``before``: the mailbox search no longer reaches them."""
        with self._tx() as db:
            return db.execute(delete(_MailMessage).where(_MailMessage.session_id.is_(None),
                                                         _MailMessage.created_at < before)
                              ).rowcount or 0

    # -- the knowledge base's history: ingest runs and staff's changes --------------------------
    def add_ingest_run(self, trigger: str, by: str, targets: Sequence[str], started_at: float,
                       report: dict[str, Any]) -> IngestRun:
        with self._tx() as db:
            row = _IngestRun(started_at=started_at, finished_at=time.time(), trigger=trigger,
                             by=by, targets=json.dumps(list(targets), ensure_ascii=False),
                             report=json.dumps(report, ensure_ascii=False))
            db.add(row)
            db.flush()
            return _run(row)

    def ingest_runs(self, limit: int = 50, target: str | None = None) -> list[IngestRun]:
        """The newest runs first; with ``target``, only runs that covered it."""
        with self._tx() as db:
            query = select(_IngestRun).order_by(_IngestRun.id.desc())
            if target is not None:  # an item of the JSON list, quoted as JSON writes it
                query = query.where(_IngestRun.targets.contains(
                    json.dumps(target, ensure_ascii=False), autoescape=True))
            return [_run(r) for r in db.scalars(query.limit(limit))]

    def audit(self, who: str, action: str, target: str, detail: str = "") -> None:
        with self._tx() as db:
            db.add(_AuditEntry(at=time.time(), who=who, action=action, target=target,
                               detail=detail))

    def audit_log(self, limit: int = 200) -> list[AuditEntry]:
        with self._tx() as db:
            rows = db.scalars(select(_AuditEntry).order_by(_AuditEntry.id.desc()).limit(limit))
            return [AuditEntry(r.at, r.who, r.action, r.target, r.detail) for r in rows]

    def cited(self, since: float) -> list[tuple[list[str], int | None]]:
        """For each answer since ``since``: the sources it cited and its rating (None: not
        rated), for the documents' usage."""
        with self._tx() as db:
            rows = db.execute(select(_Message.answer, _Feedback.rating)
                              .outerjoin(_Feedback, _Feedback.message_id == _Message.id)
                              .where(_Message.role == "bot", _Message.created_at >= since,
                                     _Message.answer != "")).all()
        out = []
        for answer, rating in rows:
            sources = sorted({c.get("source", "") for c in
                              json.loads(answer or "{}").get("citations", [])} - {""})
            if sources:
                out.append((sources, rating))
        return out

    def calibration_data(self) -> tuple[list[tuple[float, int]], list[float]]:
        """What ``lotse calibrate`` weighs: the confidence and rating (+1/-1) of every rated
        answer, and the confidence of every low-confidence handoff whose ticket a person
        closed as resolved (a question the documents did not answer)."""
        with self._tx() as db:
            rated = db.execute(select(_Message.answer, _Feedback.rating)
                               .join(_Feedback, _Feedback.message_id == _Message.id)
                               .where(_Message.role == "bot", _Message.answer != "")).all()
            handed = db.execute(select(_Message.answer)
                                .join(_Ticket, _Ticket.session_id == _Message.session_id)
                                .where(_Message.role == "bot", _Ticket.status == "closed",
                                       _Ticket.resolved.is_(True),
                                       _Ticket.reason == "low_confidence")).scalars().all()
        answers = [(json.loads(a), r) for a, r in rated]
        staff = [json.loads(a) for a in handed]
        return ([(float(a["confidence"]), int(r)) for a, r in answers
                 if not a.get("handoff") and a.get("route", "answer") == "answer"],
                [float(a["confidence"]) for a in staff
                 if a.get("handoff_reason") == "low_confidence"])

    # -- leases: one process at a time for a job ---------------------------------------------
    def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Hold ``name`` for ``seconds`` (or renew it); False while another holder has it."""
        now = time.time()
        try:
            with self._tx() as db:
                db.add(_Lease(name=name, holder=holder, until=now + seconds))
            return True
        except IntegrityError:
            pass
        with self._tx() as db:
            taken = db.execute(update(_Lease).where(
                _Lease.name == name, (_Lease.holder == holder) | (_Lease.until < now))
                .values(holder=holder, until=now + seconds))
            return taken.rowcount == 1

    def drop_lease(self, name: str, holder: str) -> None:
        with self._tx() as db:
            db.execute(delete(_Lease).where(_Lease.name == name, _Lease.holder == holder))

    def record(self, event: str, session_id: str = "", value: float | None = None,
               **data: Any) -> None:
        """Append an event for the KPIs: ``answer`` (value: latency ms), ``feedback``
        (value: +1/-1), ``ticket_closed`` (value: 1 if resolved), ``forwarded``, ``agent_reply``,
        ``email_consent``, ``mail_sent`` (value: ms) and ``mail_failed``."""
        with self._tx() as db:  # events keep questions for the content-gap KPI: redacted
            db.add(_Event(session_id=session_id, created_at=time.time(), kind=event, value=value,
                          data=json.dumps(_redacted(data), ensure_ascii=False)))

    def events(self, since: float = 0.0) -> list[EventRecord]:
        with self._tx() as db:
            rows = db.scalars(select(_Event).where(_Event.created_at >= since).order_by(_Event.id))
            return [EventRecord(r.session_id, r.created_at, r.kind, r.value, json.loads(r.data))
                    for r in rows]

    # -- DSGVO ------------------------------------------------------------------------------
    def export(self, session_id: str) -> dict[str, Any]:
        """Everything stored about one session (Art. 15 DSGVO), as stored (redacted)."""
        with self._tx() as db:
            session = db.get(_Session, session_id)
            if session is None:
                raise NoSuchRecord(f"no session {session_id}")
            feedback = db.scalars(select(_Feedback).where(_Feedback.session_id == session_id))
            tickets = db.scalars(select(_Ticket).where(_Ticket.session_id == session_id))
            return {
                "session": {"id": session.id, "created_at": session.created_at,
                            "language": session.language, "status": session.status},
                "messages": [{"role": m.role, "text": m.text, "created_at": m.created_at}
                             for m in self.transcript(session_id)],
                "feedback": [{"rating": f.rating, "comment": f.comment} for f in feedback],
                "tickets": [{"number": ticket_number(t.id), "reason": t.reason,
                             "question": t.question, "status": t.status} for t in tickets],
                "email": {"address": thread.address, "subject": thread.subject}
                if (thread := db.get(_MailThread, session_id)) else None,
            }

    def delete(self, session_id: str) -> dict[str, int]:
        """Erase a session (Art. 17 DSGVO): transcript, originals, feedback, tickets, events,
        and its e-mail thread."""
        counts = {}
        with self._tx() as db:
            if db.get(_Session, session_id) is None:
                raise NoSuchRecord(f"no session {session_id}")
            for name, model in (("raw_texts", _RawText), ("messages", _Message),
                                ("feedback", _Feedback), ("ticket_contacts", _TicketContact),
                                ("tickets", _Ticket), ("events", _Event),
                                ("session_secrets", _SessionSecret),
                                ("mail_messages", _MailMessage), ("mail_threads", _MailThread)):
                result = db.execute(delete(model).where(model.session_id == session_id))
                counts[name] = result.rowcount or 0
            db.execute(delete(_Session).where(_Session.id == session_id))
        if self.engine.dialect.name == "sqlite":
            # Older copies of the rows still sit in the write-ahead log until it is checkpointed.
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return counts


def _redacted(value: Any) -> Any:
    """Every string inside a JSON-like value redacted; numbers and keys stay as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
    return value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # durable commits: a crash loses nothing acknowledged
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # erased rows are overwritten, not left in free pages
    cursor.execute("PRAGMA busy_timeout=10000")  # several Lotse processes may share the file
    cursor.close()
