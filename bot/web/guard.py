"""The outermost layer of every request: who may send a body, how large, from which origin.

FastAPI reads a request's body before any dependency runs, so a token check in a
route comes after a 400 MB upload has been buffered. ``RequestGuard`` is plain ASGI
in front of everything (REST, the staff UI and the customer chat mounted on it):

- a REST call (``/v1/…``) without a known bearer token, and a staff UI call that
  sends a body without a login cookie, is refused with 401 before a byte is read;
- a body over its route's limit is refused with 413: at once when ``Content-Length``
  says so, while it streams in otherwise (chunked bodies included), so memory never
  holds more than the limit;
- a cookie-authenticated request that changes something (``POST`` and friends to the
  staff UI, the login form, the customer chat) from another site's page is refused
  with 403: its ``Origin`` must be this server or one of ``server.allowed_origins``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import cookie_parser

from bot.chat.staff import Credentials, LoginSessions, allows

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON_LIMIT = 256 * 1024  # REST bodies: a chat message is at most 4,000 characters
PAGE_LIMIT = 1024 * 1024  # the Gradio pages' event payloads
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class RequestGuard:
    """ASGI middleware; ``upload_limit`` is the largest body the upload routes take."""

    def __init__(self, app: Callable, credentials: Credentials, logins: LoginSessions,
                 upload_limit: int, allowed_origins: list[str]) -> None:
        self.app = app
        self.credentials = credentials
        self.logins = logins
        self.upload_limit = upload_limit
        self.allowed_origins = {o.rstrip("/").lower() for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:  # the first of repeated headers, as Starlette reads
            headers.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
        refusal = self._refusal(path, method, headers)
        if refusal:
            await _respond(send, *refusal)
            return
        limit = self._limit(path)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _respond(send, 413, f"request body of {int(declared)} bytes is over the "
                                      f"limit of {limit} bytes for {path}")
            return
        # Starlette's limiter counts what streams in (chunked bodies too) and answers 413
        # through whatever framework reads the body, mounted Gradio apps included.
        await RequestBodyLimitMiddleware(self.app, limit)(scope, receive, send)

    def _refusal(self, path: str, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        """Why the request is refused before its body is read, or None."""
        if path.startswith("/v1/") and method != "OPTIONS":
            auth = headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else None
            role = self.credentials.role_of_token(token)
            if role is None:
                return 401, "missing or unknown bearer token"
            if path == "/v1/uploads" and not allows(role, "admin"):
                return 403, "this route needs the admin role"  # before an upload is read
            return None  # a bearer token is not sent by browsers on their own: no CSRF
        if method in _SAFE_METHODS:
            return None
        if not self._same_origin(headers):
            return 403, "cross-site request refused (Origin does not match this server)"
        cookie = cookie_parser(headers.get("cookie", "")).get(self.logins.COOKIE)
        if path.startswith("/staff") and self.logins.user(cookie) is None:
            return 401, "log in first (/login)"
        return None

    def _same_origin(self, headers: dict[str, str]) -> bool:
        origin = headers.get("origin")
        if origin is None:
            return True  # browsers send Origin with every cross-site POST; other clients may not
        origin = origin.rstrip("/").lower()
        host = headers.get("host", "").lower()
        return origin in self.allowed_origins or origin.split("://", 1)[-1] == host

    def _limit(self, path: str) -> int:
        if path == "/v1/uploads" or path.startswith("/staff/") and path.endswith("/upload"):
            return self.upload_limit
        return JSON_LIMIT if path.startswith("/v1/") else PAGE_LIMIT


async def _respond(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
