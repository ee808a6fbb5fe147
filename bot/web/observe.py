"""Request ids, JSON logs and HTTP metrics for every request, whatever answers it.

Each request gets an id: the caller's ``X-Request-ID`` when it is a plain token of at most
64 characters, else a new one. The response echoes it in ``X-Request-ID``, and every log
line written while the request runs carries it, so a customer's complaint ("request
3f2a…") leads to its log lines. ``lotse serve`` writes its logs as one JSON object a line.

This is the outermost middleware, outside even the request guard: it reads no body, and
a refused request gets an id and is counted too.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from bot.chat.metrics import Metrics

REQUEST_ID = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Methods outside this set are counted as "other": a client cannot add metric series.
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
request_id: ContextVar[str] = ContextVar("request_id", default="")
log = logging.getLogger("lotse.http")


class Observed:
    """ASGI middleware: a request id in and out, one log line and the metrics per request."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(REQUEST_ID.lower().encode(), b"").decode(
            "latin-1")
        rid = given if _VALID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = [500]
        started = time.perf_counter()

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (REQUEST_ID.lower().encode(), rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.requests.labels(route, method, str(status[0])).inc()
            self.metrics.request_seconds.labels(route).observe(seconds)
            # The route, not the path: a path may carry a session id.
            log.info("request", extra={"method": method, "route": route, "status": status[0],
                                       "ms": round(1000 * seconds, 1)})
            request_id.reset(token)


def _route(scope: dict) -> str:
    """The route template that answered (``/v1/conversations/{session_id}``), the mounted
    page ("/staff", "/"), or "unmatched": never the raw path, which would give one series
    per session id."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is not None:
        return path or "/"
    return "unmatched"


class JsonLogs(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request id, and the
    fields a call passed in ``extra``."""

    _PLAIN = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": round(record.created, 3), "level": record.levelname,
                 "logger": record.name, "msg": record.getMessage()}
        if rid := request_id.get():
            entry["request_id"] = rid
        entry.update({k: v for k, v in vars(record).items() if k not in self._PLAIN})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_logging() -> None:
    """Send every log line of the process to stderr as JSON: Lotse's request lines at
    INFO, everything else at the level already set (warnings unless ``--verbose``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogs())
    logging.getLogger().handlers[:] = [handler]
    log.setLevel(logging.INFO)
