"""The HTTP connection of ``lotse serve``: a bounded request head, sent in bounded time.

uvicorn's default parser (httptools) takes request headers of any size, and neither
parser bounds the time a client may take to send them: six connections sending 100 MB
of headers grew the server by 570 MB before each got its 401, and 900 connections
trickling a header byte at a time stayed open. Both happen before any middleware can
look at the request, so they are refused here, in the connection:

- uvicorn's h11 protocol with h11's limit on an incomplete event
  (``server.max_header_bytes``): a head over it is answered 431 and the connection
  closed, with at most one read (64 kB) beyond the limit buffered;
- a timer from the connection's start, and on a kept-alive connection from the next
  request's first byte, until the head is complete (``server.header_timeout_seconds``):
  a head still incomplete then is answered 408, a connection that sent nothing is
  closed silently (as uvicorn closes an idle kept-alive one).

    >>> uvicorn.run(app, http=guarded_protocol(10.0), h11_max_incomplete_event_size=32768)
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_REFUSALS = {
    408: b"Request Timeout", 431: b"Request Header Fields Too Large", 400: b"Bad Request"}
_REASONS = {408: b"the request head did not arrive in time",
            431: b"the request head is over the server's limit"}


class _Refusing(h11.Connection):
    """h11's server connection, remembering the status h11 suggests for the request it
    could not read (431 for a head over the limit, 400 for one that is malformed)."""

    refused_status = 400

    def next_event(self):  # noqa: ANN201 - h11's own return type
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            self.refused_status = exc.error_status_hint
            raise


class HeaderGuardProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and a 431 for one
    over the size limit. ``header_timeout`` is set by ``guarded_protocol``."""

    header_timeout = 10.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limit = self.config.h11_max_incomplete_event_size
        self.conn = _Refusing(h11.SERVER, limit) if limit is not None \
            else _Refusing(h11.SERVER)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._start_head_timer()  # a no-op while the timer of this head runs
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            self._stop_head_timer()  # the head is complete (or the connection done)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._stop_head_timer()  # the connection belongs to the WebSocket protocol now
        super().handle_websocket_upgrade(event)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 could not read, with h11's status (431 for
        a head over the limit) instead of always 400."""
        status = self.conn.refused_status
        self._refuse(status, _REASONS.get(status, msg.encode("ascii", "replace")))

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        started, _ = self.conn.trailing_data
        if started:
            self._refuse(408, _REASONS[408])
        else:
            self.transport.close()

    def _refuse(self, status: int, reason: bytes) -> None:
        """Answer ``status`` and close, whatever state h11 is in (the request was never
        read, so no route has answered)."""
        if self.transport.is_closing():
            return
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, _REFUSALS.get(status, b"Bad Request"), len(reason), reason))
        self.transport.close()


def guarded_protocol(header_timeout: float) -> type[HeaderGuardProtocol]:
    """The protocol class for ``uvicorn.run(http=…)`` with this head deadline in seconds
    (uvicorn builds one instance per connection and takes no arguments for it)."""
    return type("HeaderGuardProtocol", (HeaderGuardProtocol,), {"header_timeout": header_timeout})
