"""The Chatwoot Agent Bot connector: Chatwoot's event payloads in, and every call Lotse
makes to a local stand-in for Chatwoot's API checked (method, path, headers, body)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import threading
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.servers import lotse_api, uvicorn_thread

EVENT = json.loads((Path(__file__).resolve().parents[2] / "data" / "chatwoot" /
                    "message_created.json").read_text(encoding="utf-8"))
BOT_TOKEN = "cw-bot-token-123"
_MESSAGE_IDS = itertools.count(EVENT["id"])
HOOK_TOKEN = "hook-secret-0123456789abcdef"


class FakeChatwoot:
    """Records every request; the API answers as Chatwoot does, or 500 while ``down``."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.down = False
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        async def anything(path: str, request: Request):
            body = await request.body()
            with self.lock:
                self.calls.append({"method": request.method, "path": "/" + path,
                                   "token": request.headers.get("api_access_token"),
                                   "json": json.loads(body) if body else None})
            if self.down:
                return JSONResponse({"error": "down"}, status_code=500)
            return {"id": 9000 + len(self.calls), "content": "", "message_type": 1}


@pytest.fixture
def chatwoot():
    fake = FakeChatwoot()
    with uvicorn_thread(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture
def lotse(default_engine, tmp_path, chatwoot):
    settings = default_engine.settings.model_copy(deep=True)
    settings.chatwoot = settings.chatwoot.model_validate(
        {"url": chatwoot.url, "bot_token": BOT_TOKEN, "webhook_token": HOOK_TOKEN,
         "account_id": 4})
    engine = dataclasses.replace(default_engine, settings=settings)
    with lotse_api(engine, tmp_path, []) as api:
        yield api


def _event(content: str, conversation: int = 218, **changes) -> dict:
    """A new message (each with an id of its own, as in Chatwoot: a repeated id is a
    replay, which the hook ignores)."""
    event = copy.deepcopy(EVENT)
    event["id"] = next(_MESSAGE_IDS)
    event["content"] = content
    event["conversation"]["id"] = conversation
    for key, value in changes.items():
        if key == "status":
            event["conversation"]["status"] = value
        else:
            event[key] = value
    return event


def _post(lotse, event: dict, token: str = HOOK_TOKEN) -> httpx.Response:
    return httpx.post(f"{lotse['url']}/hooks/chatwoot/{token}", json=event, timeout=60)


def test_a_question_is_answered_in_the_conversation_with_its_sources(lotse, chatwoot):
    r = _post(lotse, _event("Was kostet der Expressversand?"))
    assert r.status_code == 200 and r.json()["action"] == "answered"
    [call] = chatwoot.calls
    assert call["method"] == "POST" and call["path"] == "/api/v1/accounts/4/conversations/218/messages"
    assert call["token"] == BOT_TOKEN
    body = call["json"]
    assert body["message_type"] == "outgoing" and body["private"] is False
    assert "12,90 €" in body["content"] and "\n\n[1] " in body["content"]


def test_a_handoff_leaves_a_private_note_and_opens_the_conversation_for_agents(lotse, chatwoot):
    _post(lotse, _event("Wie lange dauert der Versand nach Österreich?", conversation=301))
    r = _post(lotse, _event("Ich möchte bitte mit einem Menschen sprechen", conversation=301))
    assert r.json()["action"] == "handed_off" and r.json()["ticket"]
    calls = chatwoot.calls[1:]
    assert [(c["method"], c["path"]) for c in calls] == [
        ("POST", "/api/v1/accounts/4/conversations/301/messages"),
        ("POST", "/api/v1/accounts/4/conversations/301/messages"),
        ("POST", "/api/v1/accounts/4/conversations/301/toggle_status")]
    assert all(c["token"] == BOT_TOKEN for c in calls)
    public, note, status = (c["json"] for c in calls)
    assert public["private"] is False and r.json()["ticket"] in public["content"]
    assert note["private"] is True and "asked_for_human" in note["content"]
    assert r.json()["ticket"] in note["content"] and "Entwurf / draft:" in note["content"]
    assert status == {"status": "open"}


def test_what_is_not_a_customers_message_to_the_bot_is_left_alone(lotse, chatwoot):
    ignored = [
        _event("Hallo, hier ist Tom vom Service.", message_type="outgoing"),   # an agent
        _event("Interne Notiz", private=True),                                 # a private note
        _event("Was kostet der Expressversand?", status="open"),               # agents own it
        {**_event("Was kostet der Expressversand?"), "event": "conversation_created"},
        _event(""),                                                            # an attachment
    ]
    for event in ignored:
        r = _post(lotse, event)
        assert r.status_code == 200 and r.json()["action"] == "ignored", r.json()
    assert chatwoot.calls == []


def test_a_wrong_token_finds_nothing_and_a_broken_chatwoot_is_a_502(lotse, chatwoot):
    assert _post(lotse, _event("Was kostet der Expressversand?"), token="guess").status_code == 404
    assert httpx.post(f"{lotse['url']}/hooks/chatwoot/{HOOK_TOKEN}", content=b"{nope",
                      headers={"Content-Type": "application/json"}).status_code == 400
    assert chatwoot.calls == []
    chatwoot.down = True
    assert _post(lotse, _event("Was kostet der Expressversand?")).status_code == 502


def test_one_chatwoot_conversation_is_one_lotse_conversation(lotse, chatwoot):
    _post(lotse, _event("Wie schwer ist der AlpinPro 35?", conversation=402))
    _post(lotse, _event("Und in Größe L?", conversation=402))
    follow = chatwoot.calls[-1]["json"]["content"]
    assert "1,32 kg" in follow
    transcript = lotse["chat"].transcript("chatwoot-4-402")
    assert [m.role for m in transcript] == ["customer", "bot", "customer", "bot"]


def test_a_conversation_the_agents_give_back_is_answered_again(lotse, chatwoot):
    _post(lotse, _event("Ich will einen Menschen sprechen", conversation=505))
    assert chatwoot.calls[-1]["json"] == {"status": "open"}
    back = _post(lotse, _event("Was kostet der Expressversand?", conversation=505))
    assert back.json()["action"] == "answered"
    assert "12,90 €" in chatwoot.calls[-1]["json"]["content"]
    assert lotse["chat"].state.open_ticket_of("chatwoot-4-505") is None


def test_a_message_lotse_refuses_goes_to_the_agents(lotse, chatwoot):
    r = _post(lotse, _event("x" * 5000, conversation=606))
    assert r.json()["action"] == "handed_off"
    note, status = (c["json"] for c in chatwoot.calls)
    assert note["private"] is True and "4000" in note["content"].replace(".", "").replace(",", "")
    assert status == {"status": "open"}


def test_pending_closes_only_a_ticket_lotse_linked_to_that_chatwoot_conversation(lotse, chatwoot):
    """A ticket in the conversation's Lotse session that Lotse did not open by handing the
    Chatwoot conversation over (here: the "talk to a person" path) is not Chatwoot's to
    close, whatever status an event claims."""
    chat = lotse["chat"]
    chat.state.ensure_session("chatwoot-4-777")
    unlinked = chat.request_human("chatwoot-4-777").ticket
    r = _post(lotse, _event("Was kostet der Expressversand?", conversation=777))
    assert r.status_code == 200
    assert chat.state.open_ticket_of("chatwoot-4-777").id == unlinked.id
    # The control: a conversation Lotse handed over is given back by the same event.
    _post(lotse, _event("Ich will einen Menschen sprechen", conversation=778))
    assert chat.state.open_ticket_of("chatwoot-4-778") is not None
    _post(lotse, _event("Was kostet der Expressversand?", conversation=778))
    assert chat.state.open_ticket_of("chatwoot-4-778") is None


def test_the_seen_message_ids_are_bounded(tmp_path):
    from bot.channels.chatwoot_store import ChatwootStore
    from bot.chat.state import StateStore

    store = ChatwootStore(StateStore(f"sqlite:///{tmp_path / 'state.db'}").engine, kept=100)
    assert all(store.first_time(4, n) for n in range(1, 151))
    assert not store.first_time(4, 150) and not store.first_time(4, 60)
    assert store.first_time(4, 3)  # forgotten: only the newest 100 are kept
    assert store.first_time(5, 150)  # ids are per account


def test_a_dsgvo_deletion_erases_the_sessions_chatwoot_link(tmp_path):
    from bot.channels.chatwoot_store import ChatwootStore
    from bot.chat.state import StateStore

    store = ChatwootStore(StateStore(f"sqlite:///{tmp_path / 'state.db'}").engine)
    store.link(4, 218, "chatwoot-4-218", ticket_id=7)
    store.link(4, 219, "chatwoot-4-219", ticket_id=8)
    assert store.forget_session("chatwoot-4-218") == 1
    assert store.linked_ticket(4, 218) is None and store.linked_ticket(4, 219) == 8
