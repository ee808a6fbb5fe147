"""Staff accounts: who may do what, bearer tokens for REST, logins for the agent and admin UI.

The HTTP side (reading the bearer header and the cookie, the login form) is in
``bot.web.auth``; this module only knows accounts, roles and login sessions.
Unset credentials are generated once per installation and kept in
``LOTSE_HOME/credentials.json`` (mode 600), so no two installations share a
default password. Roles nest: admin ⊇ agent ⊇ customer.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from bot.chat.state import StateStore
from kb.errors import LotseError, Throttled
from kb.settings import LotseSettings
from kb.text import content_hash

ROLES = ("customer", "agent", "admin")


def allows(role: str | None, required: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(required)


@dataclass(frozen=True)
class Credentials:
    tokens: dict[str, str]  # token -> role
    users: dict[str, tuple[str, str]]  # name -> (role, password)

    def role_of_token(self, token: str | None) -> str | None:
        if not token:
            return None
        for known, role in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return role
        return None

    def login(self, name: str, password: str) -> str | None:
        """The role of a valid login, else None."""
        role, expected = self.users.get(name, ("", ""))
        if expected and hmac.compare_digest(expected.encode(), password.encode()):
            return role
        return None

    def token_for(self, role: str) -> str:
        return next(t for t, r in self.tokens.items() if r == role)

    @classmethod
    def load(cls, settings: LotseSettings) -> "Credentials":
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
        users = {name: tuple(spec.split(":", 1)) for name, spec in settings.auth.users.items()}
        if not users:
            for role in ("agent", "admin"):
                if f"{role}_password" not in stored:
                    stored[f"{role}_password"] = secrets.token_urlsafe(9)
                    changed = True
                users[role] = (role, stored[f"{role}_password"])
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(stored, indent=2))
            os.chmod(path, 0o600)
        return cls(tokens, users)  # type: ignore[arg-type]


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
        role = self.credentials.login(name, password)
        ok = role is not None and allows(role, "agent")
        self.state.add_login_attempt(name, client, ok)
        if not ok:
            raise LoginRefused("Name unbekannt oder Passwort falsch. / "
                               "unknown name or wrong password")
        token = secrets.token_urlsafe(32)
        self.state.add_login(content_hash(token), name, role, now + self.ttl)
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
