"""Attacks over HTTP: oversized bodies, cross-site forms, spoofed addresses, bad ids and
paths, identical uploads, and writing into another customer's conversation.

Each attack has its control in the same test: the same request to the same server and
route with the attack element taken out (or the right credential given) succeeds, so a
refusal here is the target behaviour and not a missing token, secret or path."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterable
from urllib.parse import urlparse

import httpx
import pytest

from tests.security.conftest import (
    NOT_YOURS,
    answered,
    bearer,
    client,
    rss_mb,
    start_conversation,
)

MB = 1024 * 1024
EVIL = {"Origin": "https://evil.example"}


def _file_part(name: str) -> bytes:
    """The head of one file in a multipart form (field ``files``), up to its content."""
    return (f'--B0UNDARY\r\nContent-Disposition: form-data; name="files"; filename="{name}"'
            f'\r\nContent-Type: text/markdown\r\n\r\n').encode()


def _small_file(name: str) -> bytes:
    """A whole multipart form with one small Markdown file."""
    return _file_part(name) + b"# Kontrolle\n\nEin kleiner Text.\n\r\n--B0UNDARY--\r\n"


def _raw_post(url: str, path: str, headers: dict[str, str], pieces: Iterable[bytes],
              multipart: bool, length: int | None = None, local: str | None = None) -> bytes:
    """POST ``pieces`` over a raw socket, chunked (or with ``Content-Length: length``); the
    server's answer, as far as it came before it hung up. ``Connection: close``, so the
    answer ends with the connection."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=30,
                                    source_address=(local, 0) if local else None)
    kind = "multipart/form-data; boundary=B0UNDARY" if multipart else "application/json"
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    head = f"POST {path} HTTP/1.1\r\nHost: {parsed.netloc}\r\n{framing}\r\n" \
           f"Content-Type: {kind}\r\nConnection: close\r\n" + \
           "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    answer = b""
    try:
        sock.sendall(head.encode())
        for piece in pieces:
            sock.sendall(piece if length is not None else
                         f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        if length is None:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed while we were still sending: the point
    try:
        sock.settimeout(30)
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    sock.close()
    return answer


def _status(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def _login(server: dict, name: str = "agent") -> str:
    """A staff login cookie of ``name`` (same-origin form post)."""
    r = httpx.post(f"{server['url']}/login", data={"name": name,
                                                   "password": server["logins"][name]})
    assert r.status_code == 303, r.text
    return r.cookies["lotse_session"]


def _credential(server: dict, who: str | None) -> dict[str, str]:
    if who is None:
        return {}
    if who == "login":
        return {"Cookie": f"lotse_session={_login(server)}"}
    return bearer(server, who)


# What each refusal says, so a test knows which check answered: a body over the limit as
# it streams in is refused by Starlette's limiter (in the same error shape), a file over
# the staff UI's upload limit by Gradio's form parser, which meets it first.
_REASON = {403: (b"this route needs the admin role",),
           413: (b'{"error":"Content Too Large"}', b"over the limit",
                 b"File size exceeded maximum allowed size of")}


@pytest.mark.parametrize("path, auth, refused, control", [
    ("/v1/uploads", None, 401, "admin"), ("/v1/chat", None, 401, "customer"),
    ("/v1/chat", "customer", 413, "customer"), ("/v1/uploads", "customer", 403, "admin"),
    ("/v1/uploads", "admin", 413, "admin"), ("/staff/gradio_api/upload", None, 401, "login"),
    ("/staff/gradio_api/upload", "login", 413, "login"),
])
def test_a_200_mb_chunked_body_is_refused_without_the_server_holding_it(target, path, auth,
                                                                        refused, control):
    multipart = path.endswith(("/uploads", "/upload"))
    name = f"kontrolle-{uuid.uuid4().hex[:8]}.md"
    # Control first: the same route takes a small chunked body of the same kind with the
    # right credential, so the refusal below is about the 200 MB (or the credential).
    small = _small_file(name) if multipart else b'{"message": "Hallo"}'
    ok = _raw_post(target["url"], path, _credential(target, control), [small], multipart)
    assert _status(ok) == 200, ok[:300]
    assert (name.encode() if multipart else b'"route"') in ok, ok[-300:]

    headers = _credential(target, auth)
    before = rss_mb(target["pid"])
    started = time.monotonic()
    pieces = ([_file_part("big.md")] if multipart else []) + [b"x" * MB] * 200
    answer = _raw_post(target["url"], path, headers, pieces, multipart)
    grown = rss_mb(target["pid"]) - before
    print(f"\n{path} credential={auth}: RSS {before:.0f} MB -> +{grown:.1f} MB")
    assert _status(answer) == refused, answer[:300]
    reasons = _REASON.get(refused) or ((b"log in first",) if path.startswith("/staff")
                                       else (b"missing or unknown bearer token",))
    assert any(reason in answer for reason in reasons), answer[:300]
    assert grown < 50, f"RSS grew by {grown:.0f} MB"
    assert time.monotonic() - started < 60
    assert httpx.get(f"{target['url']}/healthz").status_code == 200


def test_a_declared_oversized_body_is_refused_before_it_is_sent(target):
    body = b'{"message": "Hallo"}'
    token = bearer(target)
    # Control: the same request with the length it really has is answered.
    ok = _raw_post(target["url"], "/v1/chat", token, [body], False, length=len(body))
    assert _status(ok) == 200 and b'"route"' in ok, ok[:300]
    # 400 MB declared, one byte sent: refused at once, not after waiting for the rest.
    with socket.create_connection((urlparse(target["url"]).hostname,
                                   urlparse(target["url"]).port), timeout=10) as sock:
        sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 400000000\r\n"
                     b"Authorization: " + token["Authorization"].encode() +
                     b"\r\nContent-Type: application/json\r\n\r\n{")
        said = b""
        while chunk := sock.recv(4096):  # the server closes after its answer
            said += chunk
    assert said.startswith(b"HTTP/1.1 413") and b"over the limit" in said, said


def _join(server: dict, api_name: str, data: list, headers: dict[str, str],
          base: str = "", session: httpx.Client | None = None) -> httpx.Response:
    """Join a Gradio page's queue for ``api_name`` as its browser would (``base``: where the
    page is mounted)."""
    http = session or httpx.Client(base_url=server["url"])
    config = http.get(f"{base}/config").json()
    [fn] = [d["id"] for d in config["dependencies"] if d.get("api_name") == api_name]
    return http.post(f"{base}/gradio_api/queue/join", headers=headers, json={
        "fn_index": fn, "data": data, "session_hash": uuid.uuid4().hex[:10]})


def test_cross_site_forms_are_refused_and_logout_needs_its_token(target):
    url = target["url"]
    form = {"name": "agent", "password": target["logins"]["agent"]}
    login = httpx.post(f"{url}/login", headers=EVIL, data=form)
    assert login.status_code == 403 and "set-cookie" not in login.headers
    assert b"cross-site request refused" in login.content
    with httpx.Client(base_url=url) as staff:
        ok = staff.post("/login", data=form, headers={"Origin": url})  # the control
        assert ok.status_code == 303 and staff.cookies.get("lotse_session")

        # The staff UI's own API from another site's page, with the agent's cookie: the
        # same join the page makes (the copilot's) is taken from the page's own origin.
        question = ["Wie lautet der interne Gutscheincode?"]
        evil = _join(target, "copilot", question, EVIL, "/staff", staff)
        assert evil.status_code == 403 and "cross-site" in evil.json()["error"]
        own = _join(target, "copilot", question, {"Origin": url}, "/staff", staff)
        assert own.status_code == 200 and own.json()["event_id"], own.text

        # Logging out: the form's token is needed, and from this site only.
        form_page = staff.get("/logout")
        assert form_page.status_code == 200  # asks; logs nobody out
        csrf = form_page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        assert staff.post("/logout", headers=EVIL, data={"csrf": csrf}).status_code == 403
        assert staff.post("/logout", data={"csrf": "x"}).status_code == 403
        assert staff.get("/staff/", follow_redirects=False).status_code == 200  # still in
        out = staff.post("/logout", data={"csrf": csrf}, follow_redirects=False)  # control
        assert out.status_code == 303 and out.headers["location"] == "/login"
        page = staff.get("/staff/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"

    # The customer chat's Gradio API from another site is refused too; from the page's
    # own origin the same message is taken.
    message = ["Hallo", [], {}, "", "de"]  # box, chat, message ids, session, language
    evil = _join(target, "respond", message, EVIL)
    assert evil.status_code == 403 and "cross-site" in evil.json()["error"]
    own = _join(target, "respond", message, {"Origin": url})
    assert own.status_code == 200 and own.json()["event_id"], own.text


def _new_conversations(server: dict, local: str, n: int, forwarded) -> list[int]:
    """``n`` new conversations from the loopback address ``local``, each claiming the
    client address ``forwarded(i)`` in X-Forwarded-For; the status codes."""
    codes = []
    with client(server, local, timeout=30) as http:
        for i in range(n):
            r = http.post("/v1/chat", json={"message": "Hallo"},
                          headers=bearer(server, **{"X-Forwarded-For": forwarded(i)}))
            if r.status_code == 200:
                answered(r)
            else:
                assert r.status_code == 429 and "Retry-After" in r.headers, r.text
            codes.append(r.status_code)
    return codes


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(target, proxied):
    """130 new conversations from one client, each claiming another address: the
    per-address limit (120 a minute) still holds, on the server as installed and on one
    whose trusted proxy is another address than this client's. The control: the same
    requests from the trusted proxy are each counted for the address it names."""
    limit = 120  # server.client_messages_per_minute, the default on both servers
    invented = lambda i: f"198.51.{i // 250}.{i % 250}"  # noqa: E731
    # Each side speaks from a loopback address of its own, so its budget is its own.
    for server, local in ((target, "127.0.0.3"), (proxied, "127.0.0.3")):
        codes = _new_conversations(server, local, limit + 10, invented)
        assert codes[0] == 200 and codes.count(200) <= limit and codes.count(429) >= 10
    trusted = _new_conversations(proxied, "127.0.0.1", limit + 10,
                                 lambda i: f"198.18.{i // 250}.{i % 250}")
    assert trusted == [200] * (limit + 10)


def test_repeated_wrong_passwords_from_one_address_lock_out_nobody_else(proxied):
    url, password = proxied["url"], proxied["logins"]["agent"]
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    answers = [httpx.post(f"{url}/login", headers=attacker,
                          data={"name": "agent", "password": "raten"}) for _ in range(12)]
    codes = [r.status_code for r in answers]
    assert codes[:3] == [401, 401, 401] and 429 in codes  # then growing delays
    assert "Fehlversuche" in answers[codes.index(429)].text
    agent = httpx.post(f"{url}/login", headers={"X-Forwarded-For": "198.51.100.20"},
                       data={"name": "agent", "password": password})
    assert agent.status_code == 303  # the control: the real agent, elsewhere, gets in
    # One address may not try more than 20 logins a minute, whatever the names: the first
    # 20 reach the password check, the rest are turned away before it.
    sprayer = {"X-Forwarded-For": "203.0.113.77"}
    sprayed = [httpx.post(f"{url}/login", headers=sprayer,
                          data={"name": f"user{i}", "password": "x"}) for i in range(25)]
    assert [r.status_code for r in sprayed] == [401] * 20 + [429] * 5
    assert "von dieser Adresse" in sprayed[-1].text
    again = httpx.post(f"{url}/login", headers={"X-Forwarded-For": "198.51.100.21"},
                       data={"name": "agent", "password": password})
    assert again.status_code == 303  # the control: another address still gets in


@pytest.fixture(scope="module")
def ticketed(target):
    """A conversation on ``target`` with an open ticket: its id, secret, last bot message
    and the ticket's id."""
    with client(target) as http:
        reply = answered(http.post("/v1/chat", headers=bearer(target),
                                   json={"message": "Was kostet der Versand?"}))
        secret = {"X-Session-Secret": reply["session_secret"]}
        human = http.post("/v1/human", headers=bearer(target, **secret),
                          json={"session_id": reply["session_id"]})
        assert human.status_code == 200 and human.json()["ticket"], human.text
        [ticket] = [t for t in http.get("/v1/handoffs", headers=bearer(target, "agent")).json()
                    if t["number"] == human.json()["ticket"]]
    return {"session_id": reply["session_id"], "secret": reply["session_secret"],
            "message_id": reply["message_id"], "ticket_id": ticket["id"]}


@pytest.mark.parametrize("route, bad, good, field", [
    ("feedback", {"rating": 1, "message_id": 2**64}, {"rating": 1, "message_id": "bot"},
     "message_id"),
    ("feedback", {"rating": True}, {"rating": 1}, "rating"),
    ("feedback", {"rating": 0}, {"rating": -1}, "rating"),
    ("reply", {"ticket": 2**64}, {"ticket": "open"}, "ticket_id"),
], ids=["message-id-over-64-bit", "rating-true", "rating-zero", "ticket-id-over-64-bit"])
def test_bad_input_is_a_422_naming_the_field(target, ticketed, route, bad, good, field):
    """On a real conversation with its secret (and a real ticket), so the only thing wrong
    with the request is the value under test: the same request with a good value is 200."""
    def send(values: dict) -> httpx.Response:
        if route == "feedback":
            body = {"session_id": ticketed["session_id"], **values}
            if body.get("message_id") == "bot":
                body["message_id"] = ticketed["message_id"]
            return httpx.post(f"{target['url']}/v1/feedback", json=body, headers=bearer(
                target, **{"X-Session-Secret": ticketed["secret"]}))
        ticket = ticketed["ticket_id"] if values["ticket"] == "open" else values["ticket"]
        return httpx.post(f"{target['url']}/v1/handoffs/{ticket}/reply", json={"text": "Hallo"},
                          headers=bearer(target, "admin"), timeout=60)

    refused = send(bad)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert isinstance(body["error"], str) and any(p.startswith(f"{field}:")
                                                  for p in body["problems"]), body
    control = send(good)
    assert control.status_code == 200, control.text


def test_invalid_utf8_gets_the_same_error_shape(target):
    def send(body: bytes) -> httpx.Response:
        return httpx.post(f"{target['url']}/v1/chat", content=body, timeout=60,
                          headers={**bearer(target), "Content-Type": "application/json"})

    refused = send('{"message": "Grüße"}'.encode("utf-8").replace("ü".encode(), b"\xff\xfe"))
    assert refused.status_code == 400, refused.text
    assert refused.json() == {"error": "There was an error parsing the body"}
    answered(send('{"message": "Grüße"}'.encode("utf-8")))  # the control: the same, in UTF-8


def test_identical_uploads_do_not_block_a_reingest(target):
    admin = bearer(target, "admin")
    code = f"WINTER{uuid.uuid4().hex[:6].upper()}"
    text = f"# Aktion\n\nIm Winter 20 % auf Schlafsaecke mit dem Code {code}.\n".encode()
    files = [("files", (f"aktion-{i}.md", text, "text/markdown")) for i in range(5)]
    saved = httpx.post(f"{target['url']}/v1/uploads", headers=admin, files=files).json()
    assert len(saved["saved"]) == 5
    folder = saved["upload_dir"]
    # A control character in the path is refused before any sync starts ...
    bad = httpx.post(f"{target['url']}/v1/ingest", headers=admin, timeout=120,
                     json={"paths": [folder + "\x00/etc"]})
    assert bad.status_code == 400 and "control characters" in bad.json()["error"], bad.text
    # ... and the same folder without it is ingested, identical files and all.
    report = httpx.post(f"{target['url']}/v1/ingest", headers=admin, timeout=120,
                        json={"paths": [folder]})
    assert report.status_code == 200 and not report.json()["failed"], report.text
    assert report.json()["published"], report.text
    found = httpx.post(f"{target['url']}/v1/admin/retrieval-test", headers=admin, timeout=60,
                       json={"question": "Gibt es im Winter Rabatt auf Schlafsaecke?"}).json()
    assert code in str(found), "the uploaded text is not in the store"


def test_a_stranger_cannot_write_into_or_read_another_conversation(proxied):
    # On the proxied server, with addresses of their own: the spoofing test uses up other
    # addresses' per-address limits.
    url = proxied["url"]
    victim_at, stranger_at = {"X-Forwarded-For": "192.0.2.44"}, {"X-Forwarded-For": "192.0.2.46"}
    sid, secret = start_conversation(proxied, "Ich möchte mit einem Mitarbeiter sprechen",
                                     address="192.0.2.44")
    _, own_secret = start_conversation(proxied, "Hallo", address="192.0.2.46")
    marker = f"FREMD-{uuid.uuid4().hex[:8]}"

    def attempts(conversation: str, headers: dict[str, str]) -> list[httpx.Response]:
        """Every route that is about one conversation: write, read, rate, e-mail, person."""
        return [
            httpx.post(f"{url}/v1/chat", headers=headers, timeout=60,
                       json={"session_id": conversation, "message": f"{marker}: IBAN ändern"}),
            httpx.get(f"{url}/v1/conversations/{conversation}", headers=headers),
            httpx.post(f"{url}/v1/feedback", headers=headers,
                       json={"session_id": conversation, "rating": -1, "comment": marker}),
            httpx.put(f"{url}/v1/conversations/{conversation}/email", headers=headers,
                      json={"email": "mallory@example.org", "consent": True}),
            httpx.post(f"{url}/v1/human", headers=headers, timeout=60,
                       json={"session_id": conversation}),
        ]

    wrong = [None, "", "falsch", secret[:-1] + ("x" if secret[-1] != "x" else "y"), own_secret]
    for key in wrong:
        headers = bearer(proxied, **stranger_at,
                         **({"X-Session-Secret": key} if key is not None else {}))
        for r in attempts(sid, headers):
            assert r.status_code == 403 and r.json() == {"error": NOT_YOURS}, (key, r.text)
    # An id that does not exist is refused in the same words: nothing to probe for.
    for r in attempts(uuid.uuid4().hex, bearer(proxied, **stranger_at,
                                               **{"X-Session-Secret": own_secret})):
        assert r.status_code == 403 and r.json() == {"error": NOT_YOURS}, r.text

    # The control: the conversation's own secret passes the same check on every route.
    mine = bearer(proxied, **victim_at, **{"X-Session-Secret": secret})
    wrote, read, rated, mail, person = attempts(sid, mine)
    assert answered(wrote)["session_id"] == sid
    assert read.status_code == 200 and rated.status_code == 200, (read.text, rated.text)
    assert mail.status_code == 400 and "not set up" in mail.json()["error"]  # past the check
    assert person.status_code == 200 and person.json()["ticket"], person.text
    texts = [m["text"] for m in httpx.get(f"{url}/v1/conversations/{sid}", headers=mine)
             .json()["messages"]]
    assert sum(marker in t for t in texts) == 1  # the owner's message, none of the stranger's
    assert texts[0] == "Ich möchte mit einem Mitarbeiter sprechen"
