"""Behind a reverse proxy: which client a request is from, and single sign-on for staff.

Only a request whose *direct* peer is in ``server.trusted_proxies`` may say which client
it forwards (``X-Forwarded-For``, ``X-Forwarded-Proto``; uvicorn's
``ProxyHeadersMiddleware`` reads them) and, when ``auth.trusted_user_header`` is set,
which staff member the proxy has signed in. ``TrustedProxies`` wraps the whole app and
reads the user header *before* the forwarded address replaces the peer's (so uvicorn
runs with its own proxy handling off); from any other peer the header is removed before
anything else sees it.

A believed user header counts as a login of that account: the request carries a login
session of it (one per account, reused while it lasts), as if the form had been used,
so the staff pages and the request guard need nothing of their own. A name without an
account is no login. REST keeps its bearer tokens; the header does not touch them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.chat.staff import LoginSessions

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                   Awaitable[None]]


class TrustedProxies:
    """ASGI middleware, outermost. ``proxies`` as in ``server.trusted_proxies``;
    ``user_header`` empty turns single sign-on off."""

    def __init__(self, app: ASGIApp, proxies: list[str], user_header: str,
                 logins: LoginSessions) -> None:
        self.logins = logins
        self.header = user_header.strip().lower().encode("latin-1")
        self.forwarded = ProxyHeadersMiddleware(app, trusted_hosts=list(proxies))
        self.proxies = list(proxies)
        self._sessions: dict[str, str] = {}  # account name -> its sign-on session token

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.forwarded.app(scope, receive, send)
            return
        if self.header:
            scope = self._signed_on(scope)
        if self.proxies:
            await self.forwarded(scope, receive, send)
        else:
            await self.forwarded.app(scope, receive, send)

    def from_proxy(self, scope: Scope) -> bool:
        """Whether the direct peer of this connection is a configured proxy."""
        peer = (scope.get("client") or ("",))[0]
        return bool(self.proxies) and peer in self.forwarded.trusted_hosts

    def _signed_on(self, scope: Scope) -> Scope:
        """``scope`` without the user header; from a proxy, with the named account's login
        cookie in place of the browser's own."""
        named = [v for k, v in scope["headers"] if k == self.header]
        if not named:
            return scope
        headers = [(k, v) for k, v in scope["headers"] if k != self.header]
        if self.from_proxy(scope):
            # Twice is refused: a proxy that appends instead of replacing would pass on a
            # value the client wrote next to its own.
            token = self._session(named[0].decode("latin-1").strip()) if len(named) == 1 else None
            headers = _with_cookie(headers, self.logins.COOKIE, token)
        return {**scope, "headers": headers}

    def _session(self, name: str) -> str | None:
        """A live login session of account ``name``: the one made before while it lasts
        (a password change or a removal ends it), else a new one; None without an account."""
        token = self._sessions.get(name)
        login = self.logins.user(token) if token else None
        if login is None or login.name != name or login.expires < time.time() + 60:
            token = self.logins.open_for(name)
            if token is None:
                self._sessions.pop(name, None)
                return None
            self._sessions[name] = token
        return token


def _with_cookie(headers: list[tuple[bytes, bytes]], name: str,
                 value: str | None) -> list[tuple[bytes, bytes]]:
    """The request headers with one ``Cookie`` header in which ``name`` is ``value``
    (or is absent, for None); the other cookies stay as the browser wrote them."""
    kept = [piece.strip() for key, raw in headers if key == b"cookie"
            for piece in raw.decode("latin-1").split(";")
            if piece.strip() and piece.split("=", 1)[0].strip() != name]
    if value is not None:
        kept.append(f"{name}={value}")
    rest = [(k, v) for k, v in headers if k != b"cookie"]
    return rest + ([(b"cookie", "; ".join(kept).encode("latin-1"))] if kept else [])
