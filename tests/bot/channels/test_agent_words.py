"""An agent's reply reaches its customer as the agent wrote it (the chat, the widget's REST
route, e-mail over real SMTP), while every stored copy and everything that leaves for
someone else (webhooks, FAQ proposals, the DSGVO export) holds the redacted text, and the
original is gone once the ticket closes."""

from __future__ import annotations

import json

import httpx
import pytest

from bench.servers import smtp_server, uvicorn_thread
from bot.web.api import create_api
from bot.wiring import build_chat

# The shop's own hotline and stock room: shaped like personal data, so the redactor takes
# them out of stored texts, but written by the team for this one customer.
WORDS = ("Hallo Jonas, deine Rücksendung ist angekommen. Bei Fragen erreichst du das Lager "
         "unter 0761 2345678 oder lager@bergpfad.example.")
TAKEN_OUT = ("0761 2345678", "lager@bergpfad.example")


@pytest.fixture
def lotse(default_engine, tmp_path):
    with smtp_server() as smtp:
        settings = default_engine.settings.model_copy(update={"home": tmp_path}, deep=True)
        settings.mail = settings.mail.model_validate(
            {"host": "127.0.0.1", "port": smtp["port"], "security": "none",
             "sender": "service@bergpfad.example", "timeout_s": 5})
        # Queued, not sent: the outbox's body is what a receiver would get.
        settings.webhooks = settings.webhooks.model_validate(
            {"urls": ["http://127.0.0.1:9/hook"], "secret": "whsec-agent-words"})
        services = build_chat(settings, default_engine,
                              state_url=f"sqlite:///{tmp_path / 'state.db'}")
        with uvicorn_thread(create_api(services)) as url:
            yield {"url": url, "services": services, "smtp": smtp}


def _auth(lotse, role: str, **extra: str) -> dict:
    token = lotse["services"].credentials.token_for(role)
    return {"Authorization": f"Bearer {token}", **extra}


def test_the_agents_words_arrive_as_written_and_are_stored_redacted(lotse):
    url, chat = lotse["url"], lotse["services"].chat
    started = httpx.post(f"{url}/v1/chat", headers=_auth(lotse, "customer"), timeout=60,
                         json={"message": "Ich möchte mit einem Mitarbeiter sprechen"}).json()
    assert started["ticket"], started
    sid = started["session_id"]
    mine = _auth(lotse, "customer", **{"X-Session-Secret": started["session_secret"]})
    given = httpx.put(f"{url}/v1/conversations/{sid}/email", headers=mine,
                      json={"email": "jonas@example.de", "consent": True})
    assert given.status_code == 200, given.text
    ticket_id = chat.state.open_ticket_of(sid).id
    sent = httpx.post(f"{url}/v1/handoffs/{ticket_id}/reply", headers=_auth(lotse, "agent"),
                      json={"text": WORDS})
    assert sent.status_code == 200 and sent.json()["mail_error"] is None, sent.text

    # The customer: the widget's route, the web chat's transcript, the e-mail.
    shown = httpx.get(f"{url}/v1/conversations/{sid}", headers=mine).json()["messages"]
    assert shown[-1] == {**shown[-1], "role": "agent", "text": WORDS}
    assert chat.transcript(sid)[-1].text == WORDS
    [(recipients, message)] = lotse["smtp"]["received"]
    assert recipients == ["jonas@example.de"] and WORDS in message.get_content()

    # Everyone else: the stored row, the webhook, the FAQ proposal, the export.
    stored = chat.state.transcript(sid)[-1]
    assert stored.role == "agent" and "[TELEFON]" in stored.text and "[E-MAIL]" in stored.text
    assert stored.text.startswith("Hallo Jonas, deine Rücksendung ist angekommen.")
    [hook] = [json.loads(d.body) for d in chat.webhook_deliveries()
              if json.loads(d.body)["event"] == "agent.reply"]
    proposal = httpx.post(f"{url}/v1/handoffs/{ticket_id}/faq",
                          headers=_auth(lotse, "agent")).json()
    exported = json.dumps(chat.state.export(sid), ensure_ascii=False)
    for copy in (hook["text"], proposal["answer"], exported):
        assert not [v for v in TAKEN_OUT if v in copy], copy
        assert "[TELEFON]" in copy and "[E-MAIL]" in copy, copy

    # Closed: the original goes with the ticket, and the customer reads the stored copy.
    closed = httpx.post(f"{url}/v1/handoffs/{ticket_id}/reply", headers=_auth(lotse, "agent"),
                        json={"text": "Gern geschehen!", "close": True})
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
    after = httpx.get(f"{url}/v1/conversations/{sid}", headers=mine).json()["messages"]
    agent_texts = [m["text"] for m in after if m["role"] == "agent"]
    assert agent_texts == [stored.text, "Gern geschehen!"]
