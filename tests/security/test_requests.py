"""Attacks over HTTP: oversized bodies, cross-site forms, spoofed addresses, bad ids and
paths, identical uploads, and writing into another customer's conversation."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlparse

import httpx
import pytest

from tests.security.conftest import rss_mb

MB = 1024 * 1024


_FILE_PART = (b'--B0UNDARY\r\nContent-Disposition: form-data; name="files"; filename="big.md"'
              b'\r\nContent-Type: text/markdown\r\n\r\n')


def _chunked_post(url: str, path: str, total: int, headers: dict[str, str],
                  multipart: bool = False) -> bytes:
    """POST ``total`` bytes with chunked transfer encoding over a raw socket (as one file of
    a multipart form with ``multipart``); the server's answer, as far as it came before it
    hung up."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=30)
    kind = "multipart/form-data; boundary=B0UNDARY" if multipart else "application/json"
    head = f"POST {path} HTTP/1.1\r\nHost: {parsed.netloc}\r\nTransfer-Encoding: chunked\r\n" \
           f"Content-Type: {kind}\r\n" + \
           "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    if multipart:
        sock.sendall(f"{len(_FILE_PART):x}\r\n".encode() + _FILE_PART + b"\r\n")
    piece = b"x" * MB
    answer = b""
    try:
        for _ in range(total // MB):
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed while we were still sending: the point
    try:
        sock.settimeout(10)
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    sock.close()
    return answer


@pytest.mark.parametrize("path, auth", [
    ("/v1/uploads", None), ("/v1/chat", None), ("/v1/chat", "customer"),
    ("/v1/uploads", "customer"), ("/v1/uploads", "admin"), ("/staff/gradio_api/upload", None),
])
def test_a_200_mb_chunked_body_is_refused_without_the_server_holding_it(target, path, auth):
    headers = {"Authorization": f"Bearer {target['tokens'][auth]}"} if auth else {}
    before = rss_mb(target["pid"])
    started = time.monotonic()
    answer = _chunked_post(target["url"], path, 200 * MB, headers, multipart=auth == "admin")
    grown = rss_mb(target["pid"]) - before
    print(f"\n{path} token={auth}: RSS {before:.0f} MB -> +{grown:.1f} MB")
    status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/1.1") else b""
    expected = b"401" if not auth else b"403" if path == "/v1/uploads" and auth != "admin" \
        else b"413"
    assert status == expected, answer[:200]
    assert grown < 50, f"RSS grew by {grown:.0f} MB"
    assert time.monotonic() - started < 60
    assert httpx.get(f"{target['url']}/healthz").status_code == 200


def test_a_declared_oversized_body_is_refused_before_it_is_sent(target):
    with socket.create_connection((urlparse(target["url"]).hostname,
                                   urlparse(target["url"]).port), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 400000000\r\n"
                     b"Authorization: Bearer " + target["tokens"]["customer"].encode() +
                     b"\r\nContent-Type: application/json\r\n\r\n{")
        assert sock.recv(200).startswith(b"HTTP/1.1 413")


def test_cross_site_forms_are_refused_and_logout_needs_its_token(target):
    url = target["url"]
    evil = {"Origin": "https://evil.example"}
    login = httpx.post(f"{url}/login", headers=evil,
                       data={"name": "agent", "password": target["logins"]["agent"]})
    assert login.status_code == 403 and "set-cookie" not in login.headers
    with httpx.Client(base_url=url) as staff:
        ok = staff.post("/login", data={"name": "agent", "password": target["logins"]["agent"]},
                        headers={"Origin": url})
        assert ok.status_code == 303
        # The staff UI's own API from another site's page, with the agent's cookie.
        queue = staff.post("/staff/gradio_api/queue/join", headers=evil, json={})
        assert queue.status_code == 403
        assert staff.post("/logout", headers=evil, data={"csrf": "x"}).status_code == 403
        assert staff.get("/logout").status_code == 200  # asks; logs nobody out
        assert staff.post("/logout", data={"csrf": "x"}).status_code == 403
        assert staff.get("/staff/", follow_redirects=False).status_code == 200  # still in
    # The customer chat's Gradio API from another site is refused too.
    assert httpx.post(f"{url}/gradio_api/queue/join", headers=evil, json={}).status_code == 403


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(target):
    """300 new conversations with 300 invented addresses from one client: the per-address
    limit (120 a minute) still holds."""
    token = {"Authorization": f"Bearer {target['tokens']['customer']}"}
    codes = []
    with httpx.Client(base_url=target["url"], timeout=30) as client:
        for i in range(300):
            r = client.post("/v1/chat", json={"message": "Hallo"},
                            headers={**token, "X-Forwarded-For": f"198.51.{i // 250}.{i % 250}"})
            codes.append(r.status_code)
    assert codes.count(200) <= 120 and codes.count(429) >= 180


def test_repeated_wrong_passwords_from_one_address_lock_out_nobody_else(proxied):
    url, password = proxied["url"], proxied["logins"]["agent"]
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    codes = [httpx.post(f"{url}/login", headers=attacker,
                        data={"name": "agent", "password": "raten"}).status_code
             for _ in range(12)]
    assert codes[:3] == [401, 401, 401] and 429 in codes  # then growing delays
    agent = httpx.post(f"{url}/login", headers={"X-Forwarded-For": "198.51.100.20"},
                       data={"name": "agent", "password": password})
    assert agent.status_code == 303  # the real agent, elsewhere, gets in
    # One address may not try more than 20 logins a minute, whatever the names.
    sprayer = {"X-Forwarded-For": "203.0.113.77"}
    sprayed = [httpx.post(f"{url}/login", headers=sprayer,
                          data={"name": f"user{i}", "password": "x"}).status_code
               for i in range(25)]
    assert sprayed.count(429) >= 5


@pytest.mark.parametrize("method, path, body, status", [
    ("post", "/v1/feedback", {"session_id": "abc", "rating": 1, "message_id": 2**64}, 422),
    ("post", "/v1/feedback", {"session_id": "abc", "rating": True}, 422),
    ("post", "/v1/feedback", {"session_id": "abc", "rating": 0}, 422),
    ("post", f"/v1/handoffs/{2**64}/reply", {"text": "x"}, 422),
    ("post", "/v1/ingest", {"paths": ["docs_corpus\x00/etc"]}, 400),
])
def test_bad_input_is_a_4xx_with_one_error_shape(target, method, path, body, status):
    token = target["tokens"]["admin"]
    r = httpx.request(method.upper(), f"{target['url']}{path}", json=body,
                      headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == status and isinstance(r.json()["error"], str), r.text


def test_invalid_utf8_gets_the_same_error_shape(target):
    r = httpx.post(f"{target['url']}/v1/chat", content=b'{"message": "\xff\xfe"}',
                   headers={"Authorization": f"Bearer {target['tokens']['customer']}",
                            "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500 and isinstance(r.json()["error"], str), r.text


def test_identical_uploads_do_not_block_a_reingest(target):
    admin = {"Authorization": f"Bearer {target['tokens']['admin']}"}
    text = b"# Aktion\n\nIm Winter 20 % auf Schlafsaecke mit dem Code WINTER26.\n"
    files = [("files", (f"aktion-{i}.md", text, "text/markdown")) for i in range(5)]
    saved = httpx.post(f"{target['url']}/v1/uploads", headers=admin, files=files).json()
    assert len(saved["saved"]) == 5
    report = httpx.post(f"{target['url']}/v1/ingest", headers=admin, timeout=120,
                        json={"paths": [saved["upload_dir"]]})
    assert report.status_code == 200 and not report.json()["failed"], report.text


def test_a_stranger_cannot_write_into_or_read_another_conversation(proxied):
    # On the proxied server, with an address of its own: the spoofing test has used up the
    # default server's per-address limit.
    url = proxied["url"]
    token = {"Authorization": f"Bearer {proxied['tokens']['customer']}",
             "X-Forwarded-For": "192.0.2.44"}
    victim = httpx.post(f"{url}/v1/chat", headers=token, timeout=30,
                        json={"message": "Ich möchte mit einem Mitarbeiter sprechen"}).json()
    sid = victim["session_id"]
    for secret in (None, "", "falsch", victim["session_secret"][:-1] + "x"):
        headers = {**token, **({"X-Session-Secret": secret} if secret is not None else {})}
        wrote = httpx.post(f"{url}/v1/chat", headers=headers, timeout=30,
                           json={"session_id": sid, "message": "Bitte auf IBAN DE89 überweisen"})
        read = httpx.get(f"{url}/v1/conversations/{sid}", headers=headers)
        assert wrote.status_code == 403 and read.status_code == 403
    mine = {**token, "X-Session-Secret": victim["session_secret"]}
    texts = [m["text"] for m in httpx.get(f"{url}/v1/conversations/{sid}", headers=mine)
             .json()["messages"]]
    assert not any("IBAN" in t for t in texts)
