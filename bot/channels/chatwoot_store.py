"""What the Chatwoot hook remembers, in the state database (so every Lotse process on it
and a restarted one remember the same): the message ids it has handled, and the Chatwoot
conversations Lotse itself handed to Chatwoot's agents.

    >>> store = ChatwootStore(state.engine, kept=10_000)
    >>> store.first_time(4, 9001), store.first_time(4, 9001)
    (True, False)
    >>> store.link(4, 218, "chatwoot-4-218", ticket_id=7)
    >>> store.linked_ticket(4, 218)
    7

The seen ids are bounded: only the newest ``kept`` are remembered, which covers any replay
within the signature's age limit many times over. The tables come with the state
database's migrations (``bot/chat/migrations``, revision 0007).
"""

from __future__ import annotations

import time

from sqlalchemy import (
    BigInteger,
    Engine,
    Float,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class ChatwootBase(DeclarativeBase):
    """The Chatwoot tables' own metadata (the state tables are ``bot.chat.state``'s)."""


class _Seen(ChatwootBase):
    __tablename__ = "chatwoot_seen"
    __table_args__ = (UniqueConstraint("account", "message_id", name="uq_chatwoot_seen_message"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[float] = mapped_column(Float)


class _Link(ChatwootBase):
    """A Chatwoot conversation Lotse handed to the agents, with the ticket it opened."""
    __tablename__ = "chatwoot_links"
    account: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    conversation: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(Integer)
    linked_at: Mapped[float] = mapped_column(Float)


class ChatwootStore:
    """Seen message ids and Lotse's handoff links, over the state database's engine."""

    def __init__(self, engine: Engine, kept: int = 10_000) -> None:
        self.kept = kept
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def first_time(self, account: int, message_id: int) -> bool:
        """Records ``message_id`` as handled; False when it was already (by any process)."""
        try:
            with self._sessions.begin() as db:
                db.add(_Seen(account=account, message_id=message_id, seen_at=time.time()))
        except IntegrityError:
            return False
        with self._sessions.begin() as db:
            newest = db.scalar(select(func.max(_Seen.seq))) or 0
            db.execute(delete(_Seen).where(_Seen.seq <= newest - self.kept))
        return True

    def link(self, account: int, conversation: int, session_id: str, ticket_id: int) -> None:
        """Lotse handed this conversation to the agents with ``ticket_id``."""
        with self._sessions.begin() as db:
            db.merge(_Link(account=account, conversation=conversation, session_id=session_id,
                           ticket_id=ticket_id, linked_at=time.time()))

    def linked_ticket(self, account: int, conversation: int) -> int | None:
        """The ticket Lotse opened when it handed this conversation over, if it did."""
        with self._sessions.begin() as db:
            row = db.get(_Link, (account, conversation))
            return row.ticket_id if row else None

    def unlink(self, account: int, conversation: int) -> None:
        with self._sessions.begin() as db:
            db.execute(delete(_Link).where(_Link.account == account,
                                           _Link.conversation == conversation))

    def forget_session(self, session_id: str) -> int:
        """Erases the links of a Lotse session (a DSGVO deletion); how many there were."""
        with self._sessions.begin() as db:
            return db.execute(delete(_Link).where(_Link.session_id == session_id)).rowcount or 0
