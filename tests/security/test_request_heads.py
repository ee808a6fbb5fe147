"""Request heads are bounded before any credential check: in size (431 after
``server.max_header_bytes``) and in time (a head not complete within
``server.header_timeout_seconds`` ends the connection), against `lotse serve` as installed."""

from __future__ import annotations

import selectors
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest

from kb.settings import ServerSettings
from tests.security.conftest import rss_mb

LIMIT = ServerSettings().max_header_bytes
TIMEOUT = ServerSettings().header_timeout_seconds


def _connect(url: str) -> socket.socket:
    parsed = urlparse(url)
    return socket.create_connection((parsed.hostname, parsed.port), timeout=30)


def _status(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def _send_head(url: str, pieces, total: int) -> tuple[bytes, int]:
    """Send a request head without credentials, ``pieces`` at a time up to ``total`` bytes,
    reading whenever the server says something; (what it said, bytes sent until then)."""
    sock = _connect(url)
    sent, answer = 0, b""
    try:
        for piece in pieces:
            if sent >= total:
                break
            sock.sendall(piece)
            sent += len(piece)
            if _readable([sock], 0):
                break  # the server answered (or hung up) while the head was still coming
    except OSError:
        pass  # refused and closed while we were still sending: the point
    try:
        sock.settimeout(10)
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    sock.close()
    return answer, sent


def _readable(socks: list[socket.socket], timeout: float) -> list[socket.socket]:
    """The sockets with something to read (or closed) within ``timeout``; a selector, not
    select(), whose descriptors end at 1024 and a long test run opens more."""
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        return [key.fileobj for key, _ in selector.select(timeout)]


def _one_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(4096)
    return head


def _many_lines():
    yield b"GET /v1/models HTTP/1.1\r\nHost: lotse\r\n"
    n = 0
    while True:
        yield b"X-Padding-%d: %s\r\n" % (n, b"a" * 1000)
        n += 1


def _one_line():
    yield b"GET /v1/models HTTP/1.1\r\nHost: lotse\r\nCookie: "
    while True:
        yield b"b" * 8192


@pytest.mark.parametrize("shape", [_many_lines, _one_line], ids=["many-headers", "one-header"])
def test_a_head_over_the_limit_gets_431_before_the_token_check(target, shape):
    before = rss_mb(target["pid"])
    answer, sent = _send_head(target["url"], shape(), 100 * 1024 * 1024)
    grown = rss_mb(target["pid"]) - before
    print(f"\n{shape.__name__}: {sent} bytes sent before the answer, RSS +{grown:.1f} MB")
    assert _status(answer) == 431, answer[:200]
    # The server stopped reading soon after the limit: what we got to send is the limit,
    # the socket buffers on both sides and the pieces in flight, not 100 MB.
    assert sent < LIMIT + 16 * 1024 * 1024
    assert grown < 20, f"RSS grew by {grown:.0f} MB"
    # Control: the same kind of request, under the limit and with the token, is served.
    padded = {f"X-Padding-{i}": "a" * 1000 for i in range(LIMIT // 2048)}
    ok = httpx.get(f"{target['url']}/v1/models", headers={
        "Authorization": f"Bearer {target['tokens']['customer']}", **padded})
    assert ok.status_code == 200, ok.text


def test_trickled_and_silent_connections_are_closed_after_the_header_timeout(target):
    """Twenty connections trickle a header byte at a time (one of them after a first
    request it was answered on) and five send nothing: all end once the timeout has passed
    (plus scheduling slack), and a head sent in pieces that completes is served."""
    host = f"Host: {urlparse(target['url']).netloc}\r\n".encode()
    trickling = [_connect(target["url"]) for _ in range(20)]
    silent = [_connect(target["url"]) for _ in range(5)]
    kept_alive = trickling[0]
    kept_alive.sendall(b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n")
    assert _status(_one_response(kept_alive)) == 200  # its first request: the control
    started = time.monotonic()
    for sock in trickling:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n" + host)
    open_socks = set(trickling + silent)
    ended: dict[socket.socket, tuple[float, bytes]] = {}
    while open_socks and time.monotonic() - started < TIMEOUT + 20:
        for sock in list(open_socks):
            if sock in trickling:
                try:
                    sock.sendall(b"X")  # one more byte of a header line that never ends
                except OSError:
                    pass
        # Waiting for the server to say something is the pacing: no fixed sleep.
        readable = _readable(list(open_socks), 0.5)
        for sock in readable:
            try:
                said = sock.recv(4096)
            except OSError:
                said = b""
            ended[sock] = (time.monotonic() - started, said)
            open_socks.discard(sock)
    for sock in trickling + silent:
        sock.close()
    assert not open_socks, f"{len(open_socks)} connections still open after {TIMEOUT + 20} s"
    waited = [at for at, _ in ended.values()]
    print(f"\nclosed after {min(waited):.1f}-{max(waited):.1f} s (timeout {TIMEOUT} s)")
    assert min(waited) >= TIMEOUT * 0.8  # the timeout closed them, nothing earlier
    assert all(_status(ended[s][1]) == 408 for s in trickling)
    assert all(ended[s][1] == b"" for s in silent)  # nothing sent, nothing to answer
    # Control: a head that arrives in pieces, but completes in time, is answered.
    sock = _connect(target["url"])
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for piece in (b"GET /healthz HTTP/1.1\r\n", host, b"Connection: close\r\n", b"\r\n"):
        sock.sendall(piece)
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    sock.close()
    assert _status(answer) == 200, answer[:200]
