"""Signed outgoing webhooks against a real HTTP receiver: signatures, the four ticket
events, retries with backoff, the dead-letter list and its replay."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.channels.webhooks import WebhookSender, sign, verify
from bot.wiring import build_chat
from bench.servers import lotse_api, uvicorn_thread

SECRET = "whsec-test-1234"


def sender_of(services) -> WebhookSender:
    return next(w for w in services.workers if isinstance(w, WebhookSender))


class Receiver:
    """A helpdesk stand-in: records every request; answers 500 while ``failing``."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.failing = False
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request):
            body = await request.body()
            with self.lock:
                self.requests.append({"headers": dict(request.headers), "body": body,
                                      "at": time.time()})
            return JSONResponse({}, status_code=500 if self.failing else 200)


@pytest.fixture
def receiver():
    r = Receiver()
    with uvicorn_thread(r.app) as url:
        r.url = f"{url}/hook"
        yield r


def _services(default_engine, tmp_path, receiver, **webhooks):
    settings = default_engine.settings.model_copy(update={"home": tmp_path}, deep=True)
    settings.webhooks = settings.webhooks.model_validate(
        {"urls": [receiver.url], "secret": SECRET, "backoff_seconds": 0.2, **webhooks})
    return build_chat(settings, default_engine, state_url=f"sqlite:///{tmp_path / 'state.db'}")


def _drain(sender: WebhookSender, until, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the webhooks did not arrive in time"
        sender.run_once()
        time.sleep(0.05)


def test_a_signature_is_valid_only_for_its_body_secret_and_time():
    body = b'{"event": "ticket.opened"}'
    now = int(time.time())
    header = sign(SECRET, body, now)
    assert verify(SECRET, header, body)
    assert not verify(SECRET, header, body + b" ")                 # tampered body
    assert not verify("another-secret", header, body)              # wrong key
    assert not verify(SECRET, sign(SECRET, body, now - 600), body)  # replayed later
    assert not verify(SECRET, "v1=abc", body) and not verify(SECRET, "", body)


def test_the_four_ticket_events_reach_the_receiver_signed_and_redacted(default_engine, tmp_path,
                                                                        receiver):
    services = _services(default_engine, tmp_path, receiver)
    chat, sender = services.chat, sender_of(services)
    sid = chat.state.new_session()
    chat.send(sid, "Wie lange dauert der Versand nach Österreich?")
    ticket = chat.send(sid, "Ich möchte mit einem Menschen sprechen").ticket
    chat.send(sid, "Meine Nummer ist 0170 1234567, Bestellung 4711")
    chat.agent_reply(ticket.id, "agent1", "Ich sehe nach.")
    chat.close_ticket(ticket.id, resolved=True)
    _drain(sender, lambda: len(receiver.requests) >= 4)
    events = []
    for r in receiver.requests:
        headers = r["headers"]
        assert verify(SECRET, headers["x-lotse-signature"], r["body"])
        payload = json.loads(r["body"])
        assert headers["x-lotse-event"] == payload["event"]
        assert payload["ticket"]["number"] == ticket.number and payload["session_id"] == sid
        events.append(payload)
    assert [e["event"] for e in events] == ["ticket.opened", "customer.message", "agent.reply",
                                            "ticket.closed"]
    opened = events[0]
    assert [m["role"] for m in opened["conversation"]][:2] == ["customer", "bot"]
    assert opened["conversation"][0]["text"] == "Wie lange dauert der Versand nach Österreich?"
    assert "0170" not in events[1]["text"] and "4711" in events[1]["text"]  # redacted as in chat
    assert events[2]["text"] == "Ich sehe nach." and events[2]["agent"] == "agent1"
    assert events[3]["resolved"] is True
    assert {d.status for d in chat.webhook_deliveries()} == {"delivered"}


def test_a_failing_receiver_gets_retries_with_backoff_then_the_admin_replays(default_engine,
                                                                              tmp_path, receiver):
    services = _services(default_engine, tmp_path, receiver, attempts=3)
    chat, sender = services.chat, sender_of(services)
    receiver.failing = True
    sid = chat.state.new_session()
    chat.request_human(sid)
    _drain(sender, lambda: chat.webhook_deliveries("dead"))
    tries = [r["at"] for r in receiver.requests]
    assert len(tries) == 3  # then no more: it is dead
    assert tries[1] - tries[0] >= 0.2 and tries[2] - tries[1] >= 0.4  # 0.2 s, doubled
    assert {r["headers"]["x-lotse-delivery"] for r in receiver.requests} == {"1"}
    dead = chat.webhook_deliveries("dead")[0]
    assert dead.attempts == 3 and dead.last_error == "HTTP 500"
    sender.run_once()
    assert len(receiver.requests) == 3

    receiver.failing = False
    # The REST API of a Lotse process on the same state database.
    with lotse_api(default_engine, tmp_path, []) as api:
        admin = {"Authorization": f"Bearer {api['creds'].token_for('admin')}"}
        listed = httpx.get(f"{api['url']}/v1/admin/webhooks?status=dead", headers=admin).json()
        assert [(d["id"], d["event"], d["attempts"]) for d in listed] == \
            [(dead.id, "ticket.opened", 3)]
        customer = {"Authorization": f"Bearer {api['creds'].token_for('customer')}"}
        assert httpx.get(f"{api['url']}/v1/admin/webhooks", headers=customer).status_code == 403
        replayed = httpx.post(f"{api['url']}/v1/admin/webhooks/{dead.id}/replay", headers=admin)
        assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
        again = httpx.post(f"{api['url']}/v1/admin/webhooks/{dead.id}/replay", headers=admin)
        assert again.status_code == 400  # only a dead delivery is replayed
        assert httpx.post(f"{api['url']}/v1/admin/webhooks/999/replay",
                          headers=admin).status_code == 404
    _drain(sender, lambda: len(receiver.requests) == 4)
    assert verify(SECRET, receiver.requests[3]["headers"]["x-lotse-signature"],
                  receiver.requests[3]["body"])  # signed anew, so its time is fresh
    assert chat.webhook_deliveries("delivered")[0].id == dead.id


def test_two_processes_never_send_one_delivery_twice(default_engine, tmp_path, receiver):
    first = _services(default_engine, tmp_path, receiver)
    second = _services(default_engine, tmp_path, receiver)  # another process, same database
    for _ in range(10):
        first.chat.request_human(first.chat.state.new_session())
    rounds = [threading.Thread(target=sender_of(s).run_once) for s in (first, second) * 3]
    for t in rounds:
        t.start()
    for t in rounds:
        t.join()
    _drain(sender_of(first), lambda: len(receiver.requests) >= 10)
    ids = [r["headers"]["x-lotse-delivery"] for r in receiver.requests]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 11)]


def test_the_sender_thread_delivers_in_the_background(default_engine, tmp_path, receiver):
    services = _services(default_engine, tmp_path, receiver)
    sender = sender_of(services)
    sender.poll_seconds = 0.1
    sender.start()
    try:
        services.chat.request_human(services.chat.state.new_session())
        deadline = time.monotonic() + 10
        while not receiver.requests:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        sender.stop()
    assert json.loads(receiver.requests[0]["body"])["event"] == "ticket.opened"


def test_webhooks_without_a_secret_are_refused_at_start():
    from kb.channel_settings import WebhookSettings

    with pytest.raises(ValueError, match="secret is empty"):
        WebhookSettings(urls=["http://helpdesk.example/hook"])
    with pytest.raises(ValueError, match="http"):
        WebhookSettings(urls=["ftp://helpdesk.example/hook"], secret="x")
