"""Which pages may use the chat widget, said plainly to the page and to the server's log.

A browser refuses the widget's REST calls from a page whose origin is not in
``server.widget_origins`` (CORS), and a script cannot tell that refusal from a server
that is down. ``WidgetOrigins`` answers ``GET /widget/check`` to any page (no token, no
credentials, readable from every origin): whether the asking page's origin is allowed,
and the setting that allows it. The widget asks once on load and after a failed call,
so the customer reads an honest sentence and the page's developer a console message.
The server logs a warning, once per origin, for each page that asks while refused or
calls the REST API from a refused origin.

    >>> app.add_middleware(WidgetOrigins, allowed=settings.server.widget_origins)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

CHECK_PATH = "/widget/check"
SETTING = "server.widget_origins"
ENV = "LOTSE_SERVER__WIDGET_ORIGINS"
_REMEMBERED = 256  # origins warned about; a flood of made-up ones cannot grow memory

log = logging.getLogger("lotse.widget")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def how_to_allow(origin: str) -> str:
    """The sentence that tells an operator how to let ``origin``'s pages use the widget."""
    return (f"add {origin} to {SETTING} (environment: {ENV}='[\"{origin}\"]', or "
            f"widget_origins = [\"{origin}\"] under [server] in lotse.toml) and restart")


class WidgetOrigins:
    """ASGI middleware: answers the widget's origin check, and logs refused origins."""

    def __init__(self, app: Callable, allowed: list[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed}
        self.warned: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        origin = headers.get("origin", "").rstrip("/").lower()
        refused = bool(origin) and origin not in self.allowed and not _same_host(origin, headers)
        path = scope["path"]
        if path == CHECK_PATH and scope["method"] in ("GET", "HEAD"):
            if refused:
                self._warn(origin, "the chat widget on a page of")
            await _check_answer(send, origin, not refused)
            return
        if refused and path.startswith("/v1/"):
            self._warn(origin, "a browser page of")
        await self.app(scope, receive, send)

    def _warn(self, origin: str, who: str) -> None:
        if origin in self.warned or len(self.warned) >= _REMEMBERED:
            return
        self.warned.add(origin)
        log.warning(f"{who} {origin} may not call the REST API, so browsers refuse the "
                    f"widget there: {how_to_allow(origin)}",
                    extra={"origin": origin, "setting": SETTING})


def _same_host(origin: str, headers: dict[str, str]) -> bool:
    return origin.split("://", 1)[-1] == headers.get("host", "").lower()


async def _check_answer(send: Send, origin: str, allowed: bool) -> None:
    body = json.dumps({"allowed": allowed, "origin": origin or None, "setting": SETTING,
                       "how": "" if allowed or not origin else how_to_allow(origin)}).encode()
    # Readable from any page: it says only whether the asking page may use the widget.
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"access-control-allow-origin", b"*"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})
