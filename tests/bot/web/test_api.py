"""The REST API over real HTTP against a running uvicorn server."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from bot.chat.staff import LoginRefused, LoginSessions, LoginThrottled
from bot.chat.state import StateStore
from bot.wiring import build_engine
from kb.settings import LotseSettings
from bench.servers import lotse_api

CORPUS = Path(__file__).resolve().parents[3] / "docs_corpus"


@pytest.fixture(scope="module")
def server(tmp_path_factory, use_embedder):
    home = tmp_path_factory.mktemp("api-home")
    corpus = home / "corpus"
    shutil.copytree(CORPUS, corpus, ignore=shutil.ignore_patterns("eval"))
    engine = build_engine(LotseSettings(home=home, store={"refresh_seconds": 0}),
                              embedder=use_embedder)
    engine.syncer.sync([corpus])
    with lotse_api(engine, home, [corpus]) as api:
        yield {**api, "corpus": corpus}


def _auth(server, role):
    return {"Authorization": f"Bearer {server['creds'].token_for(role)}"}


def test_health_needs_no_token(server):
    r = httpx.get(f"{server['url']}/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["chunks"] > 100


def test_openapi_is_served(server):
    assert "/v1/chat" in httpx.get(f"{server['url']}/openapi.json").json()["paths"]


def test_chat_returns_the_contract_json(server):
    r = httpx.post(f"{server['url']}/v1/chat", headers=_auth(server, "customer"),
                   json={"message": "Was kostet der Expressversand?"}, timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert {"question", "answer", "language", "citations", "confidence", "handoff",
            "handoff_reason", "session_id", "message_id", "ticket"} <= set(body)
    assert "12,90 €" in body["answer"] and body["citations"] and not body["handoff"]
    assert body["language"] == "de" and body["session_id"]


def _events(url: str, token: dict, message: str) -> list[dict]:
    with httpx.stream("POST", f"{url}/v1/chat", headers=token,
                      json={"message": message, "stream": True}, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        return [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]


def test_an_extractive_answer_streams_as_one_final_event(server):
    events = _events(server["url"], _auth(server, "customer"),
                     "Wie lange habe ich Zeit für eine Rücksendung?")
    assert len(events) == 1 and events[0]["done"] is True and "30 Tagen" in events[0]["answer"]


def test_sse_deltas_are_the_new_text_only(default_engine, tmp_path):
    """With an LLM the deltas are each newly released sentence, not the text so far."""
    from dataclasses import replace

    from tests.bot.answer.test_generative import chain_with

    sentences = ["Der Versand innerhalb Deutschlands kostet 4,95 €. [1]",
                 "Ab 50 € Bestellwert ist er kostenlos. [1]"]
    engine = replace(default_engine, chain=chain_with(default_engine, " ".join(sentences)))
    with lotse_api(engine, tmp_path, []) as api:
        events = _events(api["url"], _auth(api, "customer"), "Was kostet der Versand?")
    deltas = [e["delta"] for e in events if "delta" in e]
    assert [d.strip() for d in deltas] == sentences
    assert "".join(deltas) == events[-1]["answer"] and events[-1]["done"] is True


def test_wrong_token_is_401_and_customer_on_agent_route_is_403(server):
    url = server["url"]
    assert httpx.post(f"{url}/v1/chat", json={"message": "Hallo"}).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert httpx.post(f"{url}/v1/chat", headers=bad, json={"message": "Hallo"}).status_code == 401
    assert httpx.get(f"{url}/v1/handoffs", headers=_auth(server, "customer")).status_code == 403
    assert httpx.get(f"{url}/v1/kpis", headers=_auth(server, "customer")).status_code == 403
    assert httpx.post(f"{url}/v1/ingest", headers=_auth(server, "agent"),
                      json={"paths": [str(server["corpus"])]}).status_code == 403


def test_bad_json_is_422_with_a_clear_message(server):
    r = httpx.post(f"{server['url']}/v1/chat", headers={**_auth(server, "customer"),
                   "Content-Type": "application/json"}, content=b"{not json")
    assert r.status_code == 422 and r.json()["error"] == "invalid request"
    r = httpx.post(f"{server['url']}/v1/feedback", headers=_auth(server, "customer"),
                   json={"session_id": "abc"})
    assert r.status_code == 422 and any("rating" in p for p in r.json()["problems"])


def test_handoff_reply_and_kpis_over_http(server):
    url, cust, agent = server["url"], _auth(server, "customer"), _auth(server, "agent")
    first = httpx.post(f"{url}/v1/chat", headers=cust, timeout=30,
                       json={"message": "Wie schwer ist der AlpinPro 35?"}).json()
    sid, mine = first["session_id"], {**cust, "X-Session-Secret": first["session_secret"]}
    httpx.post(f"{url}/v1/feedback", headers=mine,
               json={"session_id": sid, "rating": 1, "message_id": first["message_id"]})
    angry = httpx.post(f"{url}/v1/chat", headers=mine, timeout=30,
                       json={"session_id": sid, "message": "Das ist eine Frechheit!"}).json()
    assert angry["handoff"] and angry["handoff_reason"] == "negative_sentiment" and angry["ticket"]
    assert "session_secret" not in angry  # the secret is handed out once
    tickets = httpx.get(f"{url}/v1/handoffs", headers=agent).json()
    ticket = next(t for t in tickets if t["session_id"] == sid)
    assert ticket["reason"] == "negative_sentiment"
    assert [m["role"] for m in ticket["transcript"]] == ["customer", "bot", "customer", "bot"]
    r = httpx.post(f"{url}/v1/handoffs/{ticket['id']}/reply", headers=agent,
                   json={"text": "Das tut mir leid, ich kümmere mich.", "close": True})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    transcript = server["chat"].state.transcript(sid)
    assert [m.role for m in transcript[-2:]] == ["agent", "notice"]
    assert "kümmere" in transcript[-2].text
    k = httpx.get(f"{url}/v1/kpis", headers=agent, timeout=60).json()
    assert k["conversations"] >= 1 and k["handoffs_by_reason"].get("negative_sentiment", 0) >= 1
    assert k["csat"] is not None and k["first_contact_resolution"] == 1.0


def test_ingest_is_limited_to_allowed_folders(server, tmp_path):
    admin = _auth(server, "admin")
    r = httpx.post(f"{server['url']}/v1/ingest", headers=admin, json={"paths": [str(tmp_path)]})
    assert r.status_code == 403
    r = httpx.post(f"{server['url']}/v1/ingest", headers=admin, timeout=120,
                   json={"paths": [str(server["corpus"])]})
    assert r.status_code == 200 and r.json()["unchanged"] == 64  # 63 documents, the vocabulary


def test_uploads_refuse_traversal_wrong_types_and_oversize(server):
    admin = _auth(server, "admin")
    files = [
        ("files", ("../../../etc/evil.md", b"# Boese\n\nVersuch, den Ordner zu verlassen.", "text/markdown")),
        ("files", ("C:\\Windows\\neu.md", b"# Neu\n\nNeue Seite.", "text/markdown")),
        ("files", ("bombe.zip", b"PK\x03\x04" + b"\0" * 100, "application/zip")),
        ("files", ("leer.txt", b"", "text/plain")),
        ("files", ("riesig.txt", b"x" * (10 * 2**20 + 1), "text/plain")),
    ]
    r = httpx.post(f"{server['url']}/v1/uploads", headers=admin, files=files, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body["saved"]) == ["evil.md", "neu.md"]  # only the last name part is kept
    upload_dir = Path(body["upload_dir"])
    assert (upload_dir / "evil.md").is_file() and not (upload_dir.parent / "etc").exists()
    reasons = {f["file"]: f["reason"] for f in body["refused"]}
    assert "file type .zip is not accepted" in reasons["bombe.zip"]
    assert "empty" in reasons["leer.txt"]
    assert "over the upload limit" in reasons["riesig.txt"]
    assert httpx.post(f"{server['url']}/v1/uploads", headers=_auth(server, "agent"),
                      files=files[:1]).status_code == 403


def test_staff_login_sets_a_safe_cookie_and_logout_ends_it(server):
    url, creds = server["url"], server["creds"]
    with httpx.Client(base_url=url) as client:
        assert client.get("/staff/").headers["location"] == "/login"
        wrong = client.post("/login", data={"name": "agent", "password": "falsch"})
        assert wrong.status_code == 401 and "wrong password" in wrong.text
        ok = client.post("/login", data={"name": "agent",
                                         "password": creds.first_logins["agent"][1]})
        assert ok.status_code == 303 and ok.headers["location"] == "/staff/"
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        token = client.cookies.get("lotse_session")
        assert token and server["logins"].user(token).role == "agent"
        # A GET (a link, an image in a message) only asks; the form's POST logs out.
        page = client.get("/logout")
        assert page.status_code == 200 and server["logins"].user(token).role == "agent"
        forged = client.post("/logout", data={"csrf": "guessed"})
        assert forged.status_code == 403 and server["logins"].user(token) is not None
        csrf = re.search(r'name="csrf" value="(\w+)"', page.text).group(1)
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
        assert server["logins"].user(token) is None


def test_login_is_throttled_after_repeated_failures(server):
    url, creds = server["url"], server["creds"]
    for _ in range(5):
        httpx.post(f"{url}/login", data={"name": "admin", "password": "raten"})
    blocked = httpx.post(f"{url}/login", data={"name": "admin",
                                               "password": creds.first_logins["admin"][1]})
    assert blocked.status_code == 429 and "too many failed attempts" in blocked.text
    assert int(blocked.headers["retry-after"]) >= 1


def test_logins_live_in_the_database_shared_by_processes_as_hashes(server, tmp_path):
    """A second LoginSessions on the same database stands for a second Lotse process."""
    import sqlite3

    db = tmp_path / "shared.db"
    first = LoginSessions(server["creds"], StateStore(f"sqlite:///{db}"))
    second = LoginSessions(server["creds"], StateStore(f"sqlite:///{db}"))
    token = first.login("admin", server["creds"].first_logins["admin"][1])
    assert second.user(token).name == "admin" and second.user(token).role == "admin"
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT token_hash FROM staff_logins").fetchall()
    assert len(stored) == 1 and token not in stored[0][0]  # no cookie in the table
    second.logout(token)
    assert first.user(token) is None
    for _ in range(3):
        with pytest.raises(LoginRefused):
            first.login("agent", "raten")
    for _ in range(2):
        with pytest.raises(LoginRefused):
            second.login("agent", "raten")
    with pytest.raises(LoginRefused, match="too many failed attempts"):
        first.login("agent", server["creds"].first_logins["agent"][1])


def test_wrong_passwords_from_one_address_lock_nobody_else_out(server, tmp_path):
    logins = LoginSessions(server["creds"], StateStore(f"sqlite:///{tmp_path / 's.db'}"))
    password = server["creds"].first_logins["agent"][1]
    for _ in range(8):
        with pytest.raises(LoginRefused):
            logins.login("agent", "raten", client="203.0.113.9")
    assert logins.user(logins.login("agent", password, client="198.51.100.7")).name == "agent"
    # Delays grow for the guessing address: 1, 2, 4 … seconds, at most 300.
    with pytest.raises(LoginThrottled) as caught:
        logins.login("agent", password, client="203.0.113.9")
    assert 0 < caught.value.retry_after <= 300


def test_one_address_may_try_only_so_many_logins_a_minute(server, tmp_path):
    logins = LoginSessions(server["creds"], StateStore(f"sqlite:///{tmp_path / 's.db'}"),
                           per_client_per_minute=20)
    for i in range(20):
        with pytest.raises(LoginRefused):
            logins.login(f"name{i}", "raten", client="203.0.113.9")
    with pytest.raises(LoginThrottled, match="from this address"):
        logins.login("agent", server["creds"].first_logins["agent"][1], client="203.0.113.9")


def _start(server, message="Was kostet der Versand?") -> tuple[str, dict]:
    body = httpx.post(f"{server['url']}/v1/chat", headers=_auth(server, "customer"), timeout=30,
                      json={"message": message}).json()
    return body["session_id"], {**_auth(server, "customer"),
                                "X-Session-Secret": body["session_secret"]}


def test_a_conversation_belongs_to_whoever_holds_its_secret(server):
    url, cust = server["url"], _auth(server, "customer")
    first = httpx.post(f"{url}/v1/chat", headers=cust, timeout=30,
                       json={"message": "Was kostet der Versand?"}).json()
    sid, secret = first["session_id"], first["session_secret"]
    assert len(secret) >= 22 and secret != sid  # at least 128 random bits, not the id
    mine = {**cust, "X-Session-Secret": secret}
    follow = httpx.post(f"{url}/v1/chat", headers=mine, timeout=30,
                        json={"session_id": sid, "message": "Und nach Österreich?"})
    assert follow.status_code == 200 and follow.json()["session_id"] == sid
    conversation = httpx.get(f"{url}/v1/conversations/{sid}", headers=mine).json()
    assert [m["role"] for m in conversation["messages"]] == ["customer", "bot", "customer", "bot"]
    assert conversation["messages"][1]["citations"] and conversation["messages"][0]["time"] > 0
    assert conversation["ticket"] is None


def test_strangers_can_neither_write_into_nor_read_another_conversation(server):
    url, cust = server["url"], _auth(server, "customer")
    victim, mine = _start(server)
    before = server["chat"].state.transcript(victim)
    attack = {"session_id": victim, "message": "Bitte überweist die Erstattung auf IBAN DE02120300000000202051"}
    wrong = {**cust, "X-Session-Secret": "not-the-secret"}
    refused = [httpx.post(f"{url}/v1/chat", headers=cust, json=attack),       # no secret
               httpx.post(f"{url}/v1/chat", headers=wrong, json=attack),      # a wrong one
               httpx.post(f"{url}/v1/chat", headers=mine,                     # another id
                          json={**attack, "session_id": "a" * 32}),
               httpx.get(f"{url}/v1/conversations/{victim}", headers=wrong),
               httpx.get(f"{url}/v1/conversations/{'b' * 32}", headers=wrong),
               httpx.post(f"{url}/v1/feedback", headers=wrong,
                          json={"session_id": victim, "rating": -1})]
    assert [r.status_code for r in refused] == [403] * 6
    # An unknown id and a wrong secret look the same: nothing tells an id exists.
    assert refused[3].json() == refused[4].json() == {"error": "no conversation with this id and secret"}
    assert server["chat"].state.transcript(victim) == before
    # Two clients that never send an id never share a conversation.
    assert _start(server)[0] != _start(server)[0]


def test_faq_proposals_over_http_agents_propose_admins_decide(server):
    url, cust = server["url"], _auth(server, "customer")
    agent, admin = _auth(server, "agent"), _auth(server, "admin")
    start = httpx.post(f"{url}/v1/chat", headers=cust, timeout=30,
                       json={"message": "Ich möchte mit einem Mitarbeiter sprechen"}).json()
    ticket = next(t for t in httpx.get(f"{url}/v1/handoffs", headers=agent).json()
                  if t["session_id"] == start["session_id"])
    early = httpx.post(f"{url}/v1/handoffs/{ticket['id']}/faq", headers=agent)
    assert early.status_code == 400 and "no agent reply" in early.json()["error"]
    httpx.post(f"{url}/v1/handoffs/{ticket['id']}/reply", headers=agent,
               json={"text": "Hallo,\nwir versenden auch nach Liechtenstein.\nViele Grüße"})
    proposed = httpx.post(f"{url}/v1/handoffs/{ticket['id']}/faq", headers=agent).json()
    assert proposed["answer"] == "wir versenden auch nach Liechtenstein."
    assert httpx.get(f"{url}/v1/faq-proposals", headers=agent).status_code == 403
    listed = httpx.get(f"{url}/v1/faq-proposals", headers=admin).json()
    assert proposed["id"] in [p["id"] for p in listed]
    bad = httpx.post(f"{url}/v1/faq-proposals/{proposed['id']}", headers=admin,
                     json={"action": "publish"})
    assert bad.status_code == 422 and "action" in bad.text
    done = httpx.post(f"{url}/v1/faq-proposals/{proposed['id']}", headers=admin,
                      json={"action": "reject"}).json()
    assert done["proposal"]["status"] == "rejected"
    missing = httpx.post(f"{url}/v1/faq-proposals/999999", headers=admin, json={"action": "reject"})
    assert missing.status_code == 404


def test_the_email_route_needs_the_secret_and_says_when_mail_is_not_set_up(server):
    url, cust = server["url"], _auth(server, "customer")
    start = httpx.post(f"{url}/v1/chat", headers=cust, timeout=30,
                       json={"message": "Ich möchte mit einem Mitarbeiter sprechen"}).json()
    body = {"email": "anna@example.de", "consent": True}
    stranger = httpx.put(f"{url}/v1/conversations/{start['session_id']}/email", headers=cust,
                         json=body)
    assert stranger.status_code == 403
    mine = {**cust, "X-Session-Secret": start["session_secret"]}
    r = httpx.put(f"{url}/v1/conversations/{start['session_id']}/email", headers=mine, json=body)
    assert r.status_code == 400 and "not set up" in r.json()["error"]


def _metric(text: str, name: str, **labels: str) -> float:
    """One sample of the Prometheus text format, 0 when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        if head == (f"{name}{{{wanted}}}" if labels else name):
            return float(value)
    return 0.0


def test_metrics_count_requests_by_route_answers_handoffs_and_refusals(server):
    url, cust = server["url"], _auth(server, "customer")
    admin = _auth(server, "admin")
    assert httpx.get(f"{url}/v1/metrics", headers=cust).status_code == 403
    before = httpx.get(f"{url}/v1/metrics", headers=admin).text
    started = httpx.post(f"{url}/v1/chat", headers=cust, timeout=30,
                         json={"message": "Ich möchte mit einem Mitarbeiter sprechen"}).json()
    assert started["handoff"]
    sid, mine = started["session_id"], {**cust, "X-Session-Secret": started["session_secret"]}
    refused = 0
    for _ in range(21):
        r = httpx.post(f"{url}/v1/chat", headers=mine, timeout=30,
                       json={"session_id": sid, "message": "Hallo"})
        refused += r.status_code == 429
    assert refused >= 1
    httpx.get(f"{url}/v1/conversations/{sid}", headers=mine)
    after = httpx.get(f"{url}/v1/metrics", headers=admin)
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grew(name, **labels):
        return _metric(text, name, **labels) - _metric(before, name, **labels)

    assert grew("lotse_http_requests_total", route="/v1/chat", method="POST", status="429") \
        == refused
    # A route template, never the session's own path.
    assert grew("lotse_http_requests_total", route="/v1/conversations/{session_id}",
                method="GET", status="200") == 1
    assert sid not in text
    assert grew("lotse_handoffs_total", reason="asked_for_human") == 1
    assert grew("lotse_rate_limited_total") == refused
    assert grew("lotse_answer_seconds_count", kind="smalltalk") == 21 - refused
    assert 0 <= _metric(text, "lotse_generation_age_seconds") < 3600


def test_every_response_echoes_a_request_id(server):
    url = server["url"]
    mine = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "support-case-4711"})
    assert mine.headers["X-Request-ID"] == "support-case-4711"
    fresh = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "no spaces\tor tabs"})
    assert len(fresh.headers["X-Request-ID"]) == 32 and " " not in fresh.headers["X-Request-ID"]
    refused = httpx.post(f"{url}/v1/chat", json={"message": "Hallo"})  # no token: the guard
    assert refused.status_code == 401 and len(refused.headers["X-Request-ID"]) == 32
