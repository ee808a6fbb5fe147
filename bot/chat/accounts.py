"""Staff accounts: one per person, with a role and an argon2id hash of the password.

Every agent and admin logs in under their own name, so a ticket's assignee, a webhook's
``agent`` and the audit log say which person acted. The table holds no password, only
its argon2id hash (salted, memory-hard); a login verifies against it and, when the
hashing parameters have been raised since the hash was made, stores a new hash.

    >>> accounts = StaffAccounts(StateStore("sqlite:///.lotse/state.db"))
    >>> accounts.add("erika", "agent", "ein langes Passwort")
    >>> accounts.verify("erika", "ein langes Passwort")
    'agent'

Accounts are managed with ``lotse users`` (``bot.cli_users``); the first start of
``lotse serve`` fills an empty table (``bot.chat.staff.Credentials.load``).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, Float, String, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

# The accounts' table shares the state database's metadata, so one Alembic history and
# one model check cover it; removing an account also ends its logins (staff_logins).
from bot.chat.state import StateStore, _Base, _StaffLogin
from kb.errors import InvalidInput, NotFound

STAFF_ROLES = ("agent", "admin")
NAME_MAX = 64
NAME_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._@-]{{0,{NAME_MAX - 1}}}")
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # the login form takes no longer one

# argon2id needs 64 MiB per hash: at most two at once, so a burst of logins cannot take
# the server's memory (the login throttle bounds how many come at all).
_HASHING = threading.BoundedSemaphore(2)


class AccountError(InvalidInput):
    """An account cannot be added or changed as asked; the message names input and reason."""


class NoSuchAccount(AccountError, NotFound):
    """No account has this name."""


class _StaffAccount(_Base):
    """A staff member: name, role and the argon2id hash of their password (never the password)."""
    __tablename__ = "staff_accounts"
    name: Mapped[str] = mapped_column(String(NAME_MAX), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[float] = mapped_column(Float)
    password_set_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class Account:
    """What may be shown of an account: no hash."""
    name: str
    role: str
    created_at: float
    password_set_at: float


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise AccountError(f"name {str(name)[:80]!r}: use 1-{NAME_MAX} letters, digits, '.', "
                           "'_', '-' or '@', starting with a letter or digit")
    return name


def check_role(role: str) -> str:
    if role not in STAFF_ROLES:
        raise AccountError(f"role {str(role)[:40]!r}: must be one of {', '.join(STAFF_ROLES)}")
    return role


def check_password(name: str, password: str) -> str:
    """``password`` if it is long enough to be one; ``AccountError`` naming the account."""
    if not password:
        raise AccountError(f"password for {name!r}: empty")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password for {name!r}: too short ({len(password)} characters, "
                           f"at least {MIN_PASSWORD})")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"password for {name!r}: too long (at most {MAX_PASSWORD} characters)")
    return password


class StaffAccounts:
    """The accounts in the state database, shared by every Lotse process on it.

    ``hasher`` is argon2-cffi's ``PasswordHasher`` (its defaults, RFC 9106's low-memory
    profile); tests may pass a cheaper one.
    """

    def __init__(self, state: StateStore, hasher: PasswordHasher | None = None) -> None:
        self.state = state
        self.hasher = hasher or PasswordHasher()
        self._sessions = sessionmaker(state.engine, expire_on_commit=False)
        self._decoy: str | None = None
        _private_sqlite(state.engine)

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as db:
            yield db

    def _hash(self, password: str) -> str:
        with _HASHING:
            return self.hasher.hash(password)

    # -- reading --------------------------------------------------------------------------
    def all_accounts(self) -> list[Account]:
        with self._tx() as db:
            rows = db.scalars(select(_StaffAccount).order_by(_StaffAccount.name))
            return [Account(r.name, r.role, r.created_at, r.password_set_at) for r in rows]

    def count(self) -> int:
        with self._tx() as db:
            return db.scalar(select(func.count()).select_from(_StaffAccount)) or 0

    def role_of(self, name: str | None) -> str | None:
        """The role of the account ``name``, or None when there is none (any more)."""
        with self._tx() as db:
            row = self._row(db, name)
            return row.role if row else None

    @staticmethod
    def _row(db: Session, name: str | None) -> _StaffAccount | None:
        # A name no account could have is nobody's, and is not sent to the database
        # (PostgreSQL refuses a NUL in a string; cutting a long one short could match another).
        valid = isinstance(name, str) and NAME_PATTERN.fullmatch(name)
        return db.get(_StaffAccount, name) if valid else None

    def verify(self, name: str, password: str) -> str | None:
        """The account's role when ``password`` is its password, else None.

        An unknown name costs the same hashing as a known one, so the time a refusal takes
        does not tell which names exist."""
        with self._tx() as db:
            row = self._row(db, name)
            stored, role = (row.password_hash, row.role) if row else ("", None)
        stored = stored or self._decoy_hash()
        try:
            with _HASHING:
                self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if role is None:
            return None
        if self.hasher.check_needs_rehash(stored):
            self._store_hash(name, password, expected=stored)
        return role

    def _decoy_hash(self) -> str:
        if self._decoy is None:
            self._decoy = self._hash("no account has this password")
        return self._decoy

    # -- changing -------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str) -> Account:
        """A new account; ``AccountError`` for a bad name, role or password, or a taken name."""
        check_name(name)
        check_role(role)
        check_password(name, password)
        return self.add_all([(name, role, password)])[0]

    def add_all(self, entries: Iterable[tuple[str, str, str]]) -> list[Account]:
        """Several accounts in one transaction (all or none), with names and roles checked
        but passwords taken as given: the first start imports old passwords, which may be
        shorter than ``MIN_PASSWORD``. A name that exists fails the whole batch."""
        now = time.time()
        rows = [_StaffAccount(name=check_name(n), role=check_role(r), password_hash=self._hash(p),
                              created_at=now, password_set_at=now) for n, r, p in entries]
        try:
            with self._tx() as db:
                db.add_all(rows)
        except IntegrityError:
            taken = [r.name for r in rows if self.role_of(r.name)]
            raise AccountError(f"name {', '.join(map(repr, taken)) or '?'}: an account of "
                               "that name exists already") from None
        return [Account(r.name, r.role, now, now) for r in rows]

    def set_password(self, name: str, password: str) -> None:
        """A new password for ``name``; its open logins end (they were made with the old one)."""
        if self.role_of(name) is None:
            raise NoSuchAccount(f"user {name!r}: no such account")
        check_password(name, password)
        self._store_hash(name, password)
        self._end_logins(name)

    def remove(self, name: str) -> None:
        """Delete the account and end its logins. The last account stays: with none left,
        the next start would make new default logins."""
        with self._tx() as db:
            row = self._row(db, name)
            if row is None:
                raise NoSuchAccount(f"user {name!r}: no such account")
            if (db.scalar(select(func.count()).select_from(_StaffAccount)) or 0) <= 1:
                raise AccountError(f"user {name!r}: the last account cannot be removed; "
                                   "add another one first")
            db.delete(row)
        self._end_logins(name)

    def _store_hash(self, name: str, password: str, expected: str | None = None) -> None:
        """Store a new hash of ``password``; with ``expected``, only if the stored hash is
        still that one (a rehash after login must not undo a password change)."""
        new = self._hash(password)
        with self._tx() as db:
            row = self._row(db, name)
            if row is None or (expected is not None and row.password_hash != expected):
                return
            row.password_hash = new
            row.password_set_at = time.time() if expected is None else row.password_set_at

    def _end_logins(self, name: str) -> None:
        with self._tx() as db:
            db.execute(delete(_StaffLogin).where(_StaffLogin.name == name))


def _private_sqlite(engine: Engine) -> None:
    """A SQLite state database holds the hashes: its files become readable by this user
    only (SQLite gives a new WAL file the database file's mode)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return
    for path in (Path(database), Path(f"{database}-wal"), Path(f"{database}-shm")):
        try:
            os.chmod(path, 0o600)
        except FileNotFoundError:
            pass
