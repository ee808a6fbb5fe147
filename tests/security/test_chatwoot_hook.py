"""Attacks on the Chatwoot hook of a running `lotse serve` with a signing secret, an
account and a stand-in for Chatwoot's API on loopback: unsigned, forged and old events,
a replayed event, ids that are not whole numbers, another account's event, and a forged
"given back" that would close Lotse's ticket. Each attack has its control: the same
event, signed and well-formed, does reach Chatwoot's stand-in."""

from __future__ import annotations

import copy
import itertools
import json
import time
from pathlib import Path

import httpx
import pytest

from bot.channels.chatwoot_signature import sign
from tests.security.conftest import (
    CHATWOOT_ACCOUNT,
    CHATWOOT_BOT_TOKEN,
    CHATWOOT_HOOK_TOKEN,
    CHATWOOT_SIGNING_SECRET,
)

EVENT = json.loads((Path(__file__).resolve().parents[1] / "data" / "chatwoot" /
                    "message_created.json").read_text(encoding="utf-8"))
QUESTION = "Was kostet der Expressversand?"
_IDS = itertools.count(700_000)  # message ids of this module's events
_CONVERSATIONS = itertools.count(7_000)


def _event(content: str = QUESTION, conversation: int | None = None, status: str = "pending",
           **top) -> dict:
    event = copy.deepcopy(EVENT)
    event.update(id=next(_IDS), content=content, **top)
    event["conversation"]["id"] = next(_CONVERSATIONS) if conversation is None else conversation
    event["conversation"]["status"] = status
    return event


def _post(server: dict, event: dict | bytes, signed: bool = True, age: float = 0.0,
          secret: str = CHATWOOT_SIGNING_SECRET, headers: dict | None = None) -> httpx.Response:
    """The event as Chatwoot sends it: the raw body, signed with ``secret`` at a
    timestamp ``age`` seconds ago (``signed=False``: no signature headers)."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    sent = {"Content-Type": "application/json"}
    if signed:
        timestamp = str(int(time.time() - age))
        sent |= {"X-Chatwoot-Timestamp": timestamp,
                 "X-Chatwoot-Signature": sign(secret, timestamp, body)}
    return httpx.post(f"{server['url']}/hooks/chatwoot/{CHATWOOT_HOOK_TOKEN}", content=body,
                      headers=sent | (headers or {}), timeout=60)


def _answers(server: dict, conversation: int) -> list[dict]:
    """Lotse's public replies in one Chatwoot conversation, as the stand-in got them."""
    return [c for c in server["receivers"].calls(conversation) if not c["json"]["private"]]


def _answered_by_control(server: dict, event: dict) -> None:
    """The control: ``event`` signed right is answered in its conversation, with the
    bot's token, in the configured account."""
    r = _post(server, event)
    assert r.status_code == 200 and r.json()["action"] == "answered", r.text
    [answer] = _answers(server, event["conversation"]["id"])
    assert answer["account"] == str(CHATWOOT_ACCOUNT) and answer["token"] == CHATWOOT_BOT_TOKEN
    assert "12,90 €" in answer["json"]["content"]


def test_an_unsigned_or_forged_event_is_401_and_reaches_nobody(integrated):
    event = _event()
    conversation = event["conversation"]["id"]
    body = json.dumps(event).encode()
    refused = [
        _post(integrated, event, signed=False),                                  # no signature
        _post(integrated, event, secret="a-guessed-secret"),                     # wrong secret
        _post(integrated, body, headers={"X-Chatwoot-Signature": "sha256=" + "0" * 64}),
        _post(integrated, body, headers={"X-Chatwoot-Timestamp": "abc"}),       # no timestamp
    ]
    assert [r.status_code for r in refused] == [401] * 4, [r.text for r in refused]
    assert integrated["receivers"].calls(conversation) == []
    _answered_by_control(integrated, event)


def test_an_event_signed_too_long_ago_or_ahead_is_401(integrated):
    event = _event()
    assert _post(integrated, event, age=301).status_code == 401
    assert _post(integrated, event, age=-400).status_code == 401   # from the future
    assert integrated["receivers"].calls(event["conversation"]["id"]) == []
    r = _post(integrated, event, age=20)  # the control: a clock a little behind is fine
    assert r.status_code == 200 and r.json()["action"] == "answered"


def test_a_replayed_event_gets_one_answer_not_two(integrated):
    event = _event()
    body = json.dumps(event).encode()
    timestamp = str(int(time.time()))
    recorded = {"Content-Type": "application/json", "X-Chatwoot-Timestamp": timestamp,
                "X-Chatwoot-Signature": sign(CHATWOOT_SIGNING_SECRET, timestamp, body)}
    url = f"{integrated['url']}/hooks/chatwoot/{CHATWOOT_HOOK_TOKEN}"
    first = httpx.post(url, content=body, headers=recorded, timeout=60)
    again = httpx.post(url, content=body, headers=recorded, timeout=60)   # byte for byte
    resigned = _post(integrated, event)                                   # even signed anew
    assert first.json()["action"] == "answered"
    assert again.status_code == resigned.status_code == 200
    assert again.json()["action"] == resigned.json()["action"] == "ignored"
    assert len(_answers(integrated, event["conversation"]["id"])) == 1
    # The control: the next message of that conversation (a new id) is answered.
    follow = _event(conversation=event["conversation"]["id"])
    assert _post(integrated, follow).json()["action"] == "answered"
    assert len(_answers(integrated, event["conversation"]["id"])) == 2


@pytest.mark.parametrize("where, value", [
    ("conversation", True), ("conversation", "7001"), ("conversation", 7001.0),
    ("message", True), ("message", None), ("account", True), ("account", "4"),
])
def test_an_id_that_is_not_a_whole_number_is_refused(integrated, where, value):
    event = _event()
    conversation = event["conversation"]["id"]
    bad = copy.deepcopy(event)
    if where == "conversation":
        bad["conversation"]["id"] = value
    elif where == "message":
        bad["id"] = value
    else:
        bad["account"]["id"] = value
    r = _post(integrated, bad)
    assert r.status_code == 400 and "integer" in r.json()["error"], r.text
    assert integrated["receivers"].calls(conversation) == []
    assert not [c for c in integrated["receivers"].chatwoot if c["conversation"] in ("True", "1")]
    _answered_by_control(integrated, event)


def test_another_accounts_event_is_refused(integrated):
    event = _event()
    other = copy.deepcopy(event)
    other["account"] = {"id": CHATWOOT_ACCOUNT + 1, "name": "Fremdes Konto"}
    r = _post(integrated, other)
    assert r.status_code == 403, r.text
    assert not [c for c in integrated["receivers"].chatwoot
                if c["account"] == str(CHATWOOT_ACCOUNT + 1)]
    assert integrated["receivers"].calls(event["conversation"]["id"]) == []
    _answered_by_control(integrated, event)


def _ticket_of(server: dict, conversation: int) -> dict:
    tickets = httpx.get(f"{server['url']}/v1/handoffs", params={"status": ""},
                        headers={"Authorization": f"Bearer {server['tokens']['agent']}"}).json()
    [ticket] = [t for t in tickets
                if t["session_id"] == f"chatwoot-{CHATWOOT_ACCOUNT}-{conversation}"]
    return ticket


def test_a_forged_pending_event_does_not_close_lotses_ticket(integrated):
    conversation = next(_CONVERSATIONS)
    handoff = _post(integrated, _event("Ich möchte bitte mit einem Menschen sprechen",
                                       conversation=conversation))
    assert handoff.json()["action"] == "handed_off", handoff.text
    receivers = integrated["receivers"]
    assert receivers.status[f"{CHATWOOT_ACCOUNT}/{conversation}"] == "open"
    assert _ticket_of(integrated, conversation)["status"] == "open"
    # Someone with the hook's URL says the agents gave the conversation back.
    forged = _event(conversation=conversation, status="pending")
    assert _post(integrated, forged, signed=False).status_code == 401
    assert _post(integrated, forged, secret="a-guessed-secret").status_code == 401
    assert _ticket_of(integrated, conversation)["status"] == "open"
    assert len(_answers(integrated, conversation)) == 1  # only the handoff's message
    # Chatwoot's own event while the agents have it: ignored, the ticket stays open.
    still_open = _post(integrated, _event(conversation=conversation, status="open"))
    assert still_open.json()["action"] == "ignored"
    assert _ticket_of(integrated, conversation)["status"] == "open"
    # The control: Chatwoot's signed event after the agents really gave it back closes
    # the ticket Lotse linked to this conversation, and Lotse answers again.
    given_back = _post(integrated, _event(conversation=conversation, status="pending"))
    assert given_back.json()["action"] == "answered", given_back.text
    assert _ticket_of(integrated, conversation)["status"] == "closed"
    assert "12,90 €" in _answers(integrated, conversation)[-1]["json"]["content"]
