"""Hostile chat input over real HTTP: huge, invisible, mixed-script and empty messages,
and a flood from one session. Each gets a clear answer or error, and the server stays up."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from bot.chat.ratelimit import RateLimited, RateLimiter
from bench.servers import lotse_api


@pytest.fixture(scope="module")
def server(tmp_path_factory, default_engine):
    with lotse_api(default_engine, tmp_path_factory.mktemp("hostile-home"), []) as api:
        yield {**api, "headers": {"Authorization": f"Bearer {api['creds'].token_for('customer')}"}}


def _chat(server, payload):
    # json.dumps escapes to ASCII: a lone surrogate travels as \ud800, as hostile clients send it.
    return httpx.post(f"{server['url']}/v1/chat", content=json.dumps(payload), timeout=60,
                      headers={**server["headers"], "Content-Type": "application/json"})


def _start(server) -> tuple[str, dict]:
    """A new conversation: its id, and headers that carry its secret."""
    body = _chat(server, {"message": "Hallo"}).json()
    return body["session_id"], {**server["headers"], "X-Session-Secret": body["session_secret"]}


def _chat_in(server, session, payload):
    sid, headers = session
    return httpx.post(f"{server['url']}/v1/chat", content=json.dumps({**payload, "session_id": sid}),
                      timeout=60, headers={**headers, "Content-Type": "application/json"})


def _stored_texts(server, session_id):
    with sqlite3.connect(server["db"]) as db:
        return [r[0] for r in db.execute("SELECT text FROM messages WHERE session_id = ?",
                                         (session_id,))]


def test_a_100_kb_message_is_refused_with_its_length_and_nothing_is_stored(server):
    session = _start(server)
    before = _stored_texts(server, session[0])
    r = _chat_in(server, session, {"message": "Zelt " * 20_480})
    assert r.status_code == 400
    assert "102399 characters; at most 4000" in r.json()["error"]
    assert _stored_texts(server, session[0]) == before
    # A refused first message starts no conversation at all.
    sessions = sqlite3.connect(server["db"]).execute("SELECT count(*) FROM sessions").fetchone()
    assert _chat(server, {"message": "Zelt " * 20_480}).status_code == 400
    assert sqlite3.connect(server["db"]).execute("SELECT count(*) FROM sessions").fetchone() == sessions


def test_a_body_over_256_kb_is_refused_before_it_is_read(server):
    r = _chat(server, {"message": "x" * 300_000})
    assert r.status_code == 413 and "over the limit" in r.json()["error"]


@pytest.mark.parametrize("message", ["", "   ", "\x00\x01\x1b", "\u200b\u202e\ufeff", "\ud800"])
def test_an_empty_or_invisible_message_is_a_clear_400(server, message):
    r = _chat(server, {"message": message})
    assert r.status_code == 400 and r.json()["error"] == "the message is empty"


def test_control_and_bidi_characters_are_dropped_before_answering_and_storing(server):
    message = "Wie lange\x00 habe ich\x1b Zeit\u202e für eine\u200b Rück\u00adsendung?\ud800"
    r = _chat(server, {"message": message})
    assert r.status_code == 200, r.text
    assert "30 Tagen" in r.json()["answer"]
    customer_text = _stored_texts(server, r.json()["session_id"])[0]
    assert customer_text.startswith("Wie lange habe ich Zeit für eine Rück")
    assert not any(c in customer_text for c in "\x00\x1b\u202e\u200b")


@pytest.mark.parametrize("message", [
    "Привет! Wie lange habe ich Zeit für eine Rücksendung? 谢谢 🙂",
    "مرحبا كيف حالك",
    "ＡｌｐｉｎＰｒｏ　３５ wie schwer?",  # full-width Latin
    "𝔚𝔦𝔢 𝔩𝔞𝔫𝔤𝔢 𝔡𝔞𝔲𝔢𝔯𝔱 𝔡𝔢𝔯 𝔙𝔢𝔯𝔰𝔞𝔫𝔡?",  # mathematical Fraktur
    "Z̸̢e̷l̵t̶ ̴f̸ü̵r̷ ̵N̶o̶r̴w̸e̷g̵e̸n̶",  # combining marks ("Zalgo")
])
def test_mixed_scripts_get_an_answer_or_an_honest_handoff(server, message):
    r = _chat(server, {"message": message})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"].strip()
    # Never an answer without a source: small talk, offered topics or a person instead.
    assert body["citations"] or body["handoff"] or body["route"] in ("smalltalk", "suggest")
    assert body["route"] != "answer" or body["citations"]


def test_a_flood_from_one_session_gets_429_and_other_sessions_still_get_answers(server):
    codes = []
    sid, headers = _start(server)  # its first message counts for the client only
    with httpx.Client(headers=headers, timeout=60) as client:
        for i in range(1000):
            r = client.post(f"{server['url']}/v1/chat",
                            json={"message": f"Was kostet der Versand? ({i})", "session_id": sid})
            codes.append(r.status_code)
            if r.status_code == 429:
                retry_after = int(r.headers["retry-after"])
                error = r.json()["error"]
    assert codes[:20] == [200] * 20
    assert codes[20:] == [429] * 980
    assert 1 <= retry_after <= 60 and "at most 20 per minute per session" in error
    assert len(_stored_texts(server, sid)) == 42  # the first exchange and 20 more: no more
    feedback = httpx.post(f"{server['url']}/v1/feedback", headers=headers,
                          json={"session_id": sid, "rating": -1})
    assert feedback.status_code == 429  # ratings share the session's budget
    r = _chat(server, {"message": "Wie lange habe ich Zeit für eine Rücksendung?"})
    assert r.status_code == 200 and "30 Tagen" in r.json()["answer"]
    assert httpx.get(f"{server['url']}/healthz").status_code == 200


def test_a_streamed_message_over_the_limit_is_an_http_error_not_an_event(server):
    session = _start(server)
    for _ in range(20):
        assert _chat_in(server, session, {"message": "Hallo"}).status_code == 200
    r = _chat_in(server, session, {"message": "Hallo", "stream": True})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_the_limiter_counts_sessions_and_clients_in_a_sliding_minute():
    now = [0.0]
    limits = RateLimiter(per_session=3, per_client=5, clock=lambda: now[0])
    for _ in range(3):
        limits.check("a", "10.0.0.1")
    with pytest.raises(RateLimited, match="per session"):
        limits.check("a", "10.0.0.1")
    limits.check("b", "10.0.0.1")
    limits.check("c", "10.0.0.1")  # five from this client now
    with pytest.raises(RateLimited, match="per client") as refused:
        limits.check("d", "10.0.0.1")
    assert refused.value.retry_after == 60
    limits.check("d", "10.0.0.2")  # another client is not affected
    now[0] = 59.5
    with pytest.raises(RateLimited):
        limits.check("a", "10.0.0.3")
    now[0] = 60.0  # the first three have left the window
    limits.check("a", "10.0.0.3")
    now[0] = 200.0
    limits.check("z")
    assert list(limits._seen) == [("session", "z")]  # idle keys are forgotten
