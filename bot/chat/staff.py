"""Staff access: who may do what, bearer tokens for REST, logins for the agent and admin UI.

The HTTP side (reading the bearer header and the cookie, the login form) is in
``bot.web.routes.dependencies``, ``bot.web.auth`` and ``bot.web.routes.login``; this module knows roles, tokens and login sessions, and the accounts
themselves are in ``bot.chat.accounts`` (argon2id hashes in the state database).
Unset REST tokens are generated once per installation and kept in
``LOTSE_HOME/credentials.json`` (mode 600), so no two installations share one.
Roles nest: admin ⊇ agent ⊇ customer.

The first start fills the empty accounts table: from ``auth.users`` if set, else from the
passwords an older Lotse kept in ``credentials.json``, else with an ``agent`` and an
``admin`` whose generated passwords the banner shows once. Plaintext passwords found in
``credentials.json`` are removed from it on every start.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.chat.accounts import (
    MIN_PASSWORD,
    STAFF_ROLES,
    AccountError,
    StaffAccounts,
    check_name,
)
from bot.chat.state import StateStore
from kb.errors import LotseError, Throttled
from kb.settings import LotseSettings
from kb.text import content_hash

ROLES = ("customer", "agent", "admin")
log = logging.getLogger(__name__)


def allows(role: str | None, required: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(required)


@dataclass(frozen=True)
class Credentials:
    tokens: dict[str, str]  # token -> role
    accounts: StaffAccounts
    # name -> (role, password) of the accounts generated on this start, for the banner to
    # show once; empty on every later start.
    first_logins: dict[str, tuple[str, str]] = field(default_factory=dict)

    def role_of_token(self, token: str | None) -> str | None:
        if not token:
            return None
        for known, role in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return role
        return None

    def token_for(self, role: str) -> str:
        return next(t for t, r in self.tokens.items() if r == role)

    @classmethod
    def load(cls, settings: LotseSettings, state: StateStore,
             generate: bool = True) -> "Credentials":
        """The REST tokens (configured, or generated and kept in ``credentials.json``) and
        the staff accounts in ``state``, filled on the first start (see the module);
        ``generate=False`` (``lotse users``) moves old logins in but makes no new ones."""
        path = Path(settings.home) / "credentials.json"
        stored: dict = json.loads(path.read_text()) if path.exists() else {}
        changed = False
        tokens: dict[str, str] = {}
        for role in ROLES:
            configured = getattr(settings.auth, f"{role}_tokens")
            if not configured:
                if f"{role}_token" not in stored:
                    stored[f"{role}_token"] = secrets.token_urlsafe(24)
                    changed = True
                configured = [stored[f"{role}_token"]]
            tokens.update({t: role for t in configured})
        old = {role: stored.pop(f"{role}_password") for role in STAFF_ROLES
               if f"{role}_password" in stored}
        accounts = StaffAccounts(state)
        first = fill_accounts(accounts, settings.auth.users, old, generate)
        if changed or old:  # the old passwords leave the file once they are in the table
            _write_private(path, json.dumps(stored, indent=2))
        return cls(tokens, accounts, first)


def fill_accounts(accounts: StaffAccounts, configured: dict[str, str], old: dict[str, str],
                  generate: bool = True) -> dict[str, tuple[str, str]]:
    """Fill an empty accounts table; the accounts generated (name -> (role, password)).

    ``configured`` is ``auth.users`` ({name: "role:password"}), ``old`` the passwords of an
    older Lotse's ``credentials.json`` ({role: password}, used as before only without
    ``auth.users``). A table with accounts is left alone: the settings were read once."""
    if accounts.count():
        if configured:
            log.warning("auth.users is ignored: it is read once, into an empty account table; "
                        "remove it from your settings (a new password: lotse users passwd NAME)")
        if old:
            log.warning("the plaintext passwords of %s in credentials.json are removed unused: "
                        "the accounts in the state database stand", " and ".join(old))
        return {}
    generated: dict[str, tuple[str, str]] = {}
    entries = _configured(configured) or [(role, role, pw) for role, pw in old.items() if pw]
    if not entries and not generate:
        return {}
    if not entries:
        generated = {role: (role, secrets.token_urlsafe(12)) for role in ("agent", "admin")}
        entries = [(name, role, pw) for name, (role, pw) in generated.items()]
    try:
        accounts.add_all(entries)
    except AccountError:
        return {}  # another process filled the table at the same moment: its accounts stand
    for name, role, password in [] if generated else entries:
        log.warning("staff account %r (%s) made from an old plaintext password, which is now "
                    "kept only as a hash", name, role)
        if len(password) < MIN_PASSWORD:
            log.warning("the password of %r is shorter than %d characters: set a new one with "
                        "lotse users passwd %s", name, MIN_PASSWORD, name)
    return generated


def _configured(users: dict[str, str]) -> list[tuple[str, str, str]]:
    """``auth.users`` as (name, role, password); entries that never could log in are
    skipped with a warning that names them."""
    entries = []
    for name, spec in users.items():
        role, sep, password = str(spec).partition(":")
        try:
            check_name(name)
        except AccountError as exc:
            log.warning("auth.users: %s; skipped", exc)
            continue
        if not sep or role not in STAFF_ROLES or not password:
            log.warning("auth.users[%r]: not 'agent:PASSWORD' or 'admin:PASSWORD'; skipped", name)
            continue
        entries.append((name, role, password))
    return entries


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by this user only from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(temporary, path)


@dataclass(frozen=True)
class Login:
    name: str
    role: str
    expires: float


class LoginSessions:
    """Server-side login sessions for the staff UI, keyed by a random cookie value.

    Kept in the state database, so every Lotse process on it knows every login
    and a restart logs nobody out. The table holds a SHA-256 of each cookie, not
    the cookie. Login attempts are recorded there too (by name and client address), so
    the throttling holds across processes.
    """

    COOKIE = "lotse_session"

    def __init__(self, credentials: Credentials, state: StateStore,
                 ttl_seconds: float = 8 * 3600, free_failures: int = 3,
                 max_delay_seconds: float = 300, per_client_per_minute: int = 20) -> None:
        self.credentials = credentials
        self.state = state
        self.ttl = ttl_seconds
        self.free_failures = free_failures
        self.max_delay = max_delay_seconds
        self.per_client_per_minute = per_client_per_minute

    def login(self, name: str, password: str, client: str = "") -> str:
        """A new session token, or ``LoginRefused`` with a reason fit to show.

        Throttled by name *and* client address: after a few wrong passwords for one name
        from one address, that pair waits 1, 2, 4 … up to 300 seconds between attempts.
        Nobody else is locked out by it (the right password from another address still
        works), and no address may try more than ``per_client_per_minute`` logins a
        minute, whatever the names."""
        now = time.time()
        recent = self.state.login_attempts(now - 60, client)
        if len(recent) >= self.per_client_per_minute:
            raise LoginThrottled("Zu viele Anmeldeversuche von dieser Adresse; bitte warten. / "
                                 "too many login attempts from this address; please wait",
                                 retry_after=max(1.0, 60 - (now - recent[0][0])))
        failures = 0
        last = 0.0
        for at, ok in self.state.login_attempts(now - 3600, client, name):
            failures, last = (0, at) if ok else (failures + 1, at)
        if failures >= self.free_failures:
            wait = min(self.max_delay, 2.0 ** (failures - self.free_failures)) - (now - last)
            if wait > 0:
                raise LoginThrottled("Zu viele Fehlversuche; bitte kurz warten. / too many "
                                     "failed attempts; please wait a moment", retry_after=wait)
        role = self.credentials.accounts.verify(name, password)
        ok = role is not None and allows(role, "agent")
        self.state.add_login_attempt(name, client, ok)
        if not ok:
            raise LoginRefused("Name unbekannt oder Passwort falsch. / "
                               "unknown name or wrong password")
        token = secrets.token_urlsafe(32)
        self.state.add_login(content_hash(token), name, role, now + self.ttl)
        return token

    def open_for(self, name: str) -> str | None:
        """A session token for the account ``name`` without a password, or None when there
        is no such account: for a single-sign-on proxy that has checked who it is
        (``bot.web.proxies``)."""
        role = self.credentials.accounts.role_of(name)
        if not allows(role, "agent"):
            return None
        token = secrets.token_urlsafe(32)
        self.state.add_login(content_hash(token), name, role, time.time() + self.ttl)
        return token

    @staticmethod
    def logout_token(cookie: str | None) -> str:
        """The logout form's CSRF token: derived from the login cookie, which another
        site's page can neither read nor guess."""
        return content_hash(f"logout:{cookie or ''}")[:32]

    def user(self, token: str | None) -> Login | None:
        found = self.state.login_of(content_hash(token)) if token else None
        return Login(*found) if found else None

    def logout(self, token: str | None) -> None:
        if token:
            self.state.drop_login(content_hash(token))


class LoginRefused(LotseError):
    """A staff login was refused (wrong password, unknown name, or throttled)."""


class LoginThrottled(LoginRefused, Throttled):
    """Too many attempts: for this name from this address, or from this address at all."""

    def __init__(self, message: str, retry_after: float) -> None:
        Throttled.__init__(self, message, retry_after)
