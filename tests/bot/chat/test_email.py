"""Out of hours: the handoff says when the team is back and offers e-mail; the agent's reply
reaches a real SMTP server (aiosmtpd); the address is gone when the ticket closes."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from bot.channels.email import EmailChannel
from bot.chat.service import ChatService
from bot.chat.state import StateStore
from kb.errors import InvalidInput
from bench.servers import smtp_server

CLOSED = {"weekly": {}}  # nobody answers: every handoff is out of hours


def chat_with(engine, tmp_path, hours: dict, port: int | None) -> ChatService:
    settings = engine.settings.model_copy(update={
        "hours": engine.settings.hours.model_validate(hours),
        "mail": engine.settings.mail.model_validate(
            {"host": "127.0.0.1", "port": port or 1, "security": "none",
             "sender": "service@bergpfad.example", "timeout_s": 5})}, deep=True)
    mail = EmailChannel(settings.mail, settings.server.brand) if port else None
    return ChatService(dataclasses.replace(engine, settings=settings),
                       StateStore(f"sqlite:///{tmp_path / 'state.db'}"), mail=mail)


@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


def test_out_of_hours_handoff_offers_email_and_the_agent_reply_arrives_by_smtp(
        default_engine, tmp_path, smtp):
    chat = chat_with(default_engine, tmp_path, CLOSED, smtp["port"])
    sid, _ = chat.start_conversation()
    handoff = chat.send(sid, "Ich möchte mit einem Mitarbeiter sprechen, Bestellung 5521 fehlt")
    assert handoff.ticket and "nicht erreichbar" in handoff.text
    assert "E-Mail-Adresse" in handoff.text and "löschen sie" in handoff.text

    given = chat.send(sid, "Gern, an anna.muster@example.de bitte")
    assert given.forwarded and "a…@example.de" in given.text
    assert "anna.muster@example.de" not in given.text
    # The stored transcript keeps the redacted text; the address lives with the ticket only.
    assert "[E-MAIL]" in chat.transcript(sid)[-1].text
    # Once the address is on file the status says so instead of asking again.
    assert "auch per E-Mail" in chat.send(sid, "Wie lange habe ich Zeit für eine Rücksendung?").text

    sent = chat.agent_reply(handoff.ticket.id, "agent1", "Hallo Anna, 5521 ist unterwegs.")
    assert sent.emailed_to == "a…@example.de" and sent.mail_error is None
    [(recipients, message)] = smtp["received"]
    assert recipients == ["anna.muster@example.de"]
    assert message["From"] == "service@bergpfad.example"
    assert handoff.ticket.number in message["Subject"]
    body = message.get_content()
    assert "Hallo Anna, 5521 ist unterwegs." in body and "löschen wir" in body
    # The chat has the reply as well.
    assert chat.transcript(sid)[-1].role == "agent"

    chat.close_ticket(handoff.ticket.id, resolved=True)
    assert chat.state.contact_of(handoff.ticket.id) is None


def test_an_english_out_of_hours_handoff_is_english_and_names_the_next_opening(
        default_engine, tmp_path, smtp):
    # Open on no day but one far ahead: the next opening is named with its weekday.
    chat = chat_with(default_engine, tmp_path, {"weekly": {"mon": "00:00-00:01"}}, smtp["port"])
    sid, _ = chat.start_conversation()
    reply = chat.send(sid, "I want to talk to a person about my order")
    assert reply.ticket and "not available right now" in reply.text
    assert "Monday" in reply.text and "e-mail address" in reply.text


def test_within_hours_no_email_is_offered_and_without_smtp_none_is_kept(default_engine, tmp_path):
    chat = chat_with(default_engine, tmp_path, {"weekly": {d: "00:00-24:00" for d in
                                                           ("mon", "tue", "wed", "thu", "fri",
                                                            "sat", "sun")}}, None)
    sid, _ = chat.start_conversation()
    ticket = chat.send(sid, "Ich möchte mit einem Mitarbeiter sprechen").ticket
    reply = chat.send(sid, "meine Adresse: anna@example.de")
    assert reply.forwarded and "…@example.de" not in reply.text  # a receipt, no e-mail promise
    assert chat.state.contact_of(ticket.id) is None
    with pytest.raises(InvalidInput, match="not set up"):
        chat.give_email(sid, "anna@example.de", consent=True)


def test_the_email_contract_needs_consent_a_real_address_and_an_open_ticket(
        default_engine, tmp_path, smtp):
    chat = chat_with(default_engine, tmp_path, CLOSED, smtp["port"])
    sid, _ = chat.start_conversation()
    with pytest.raises(InvalidInput, match="no open ticket"):
        chat.give_email(sid, "anna@example.de", consent=True)
    chat.request_human(sid)
    with pytest.raises(InvalidInput, match="consent"):
        chat.give_email(sid, "anna@example.de", consent=False)
    with pytest.raises(InvalidInput, match="'anna at example' is not an e-mail address"):
        chat.give_email(sid, "anna at example", consent=True)
    with pytest.raises(InvalidInput, match="is not an e-mail address"):
        chat.give_email(sid, "anna@example.de\r\nBcc: all@example.de", consent=True)
    assert chat.give_email(sid, "anna@example.de", consent=True) == "a…@example.de"


def test_an_unreachable_smtp_server_is_reported_to_the_agent_and_the_reply_stays(
        default_engine, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    chat = chat_with(default_engine, tmp_path, CLOSED, dead)
    sid, _ = chat.start_conversation()
    ticket = chat.request_human(sid).ticket
    chat.give_email(sid, "anna@example.de", consent=True)
    sent = chat.agent_reply(ticket.id, "agent1", "Hallo Anna!")
    assert sent.mail_error and "Connection" in sent.mail_error
    assert chat.transcript(sid)[-1].text == "Hallo Anna!"
    assert [e.kind for e in chat.state.events() if e.kind.startswith("mail")] == ["mail_failed"]


def test_a_refused_recipient_is_reported_without_the_address(default_engine, tmp_path):
    with smtp_server(refuse="anna") as smtp:
        chat = chat_with(default_engine, tmp_path, CLOSED, smtp["port"])
        sid, _ = chat.start_conversation()
        ticket = chat.request_human(sid).ticket
        chat.give_email(sid, "anna@example.de", consent=True)
        sent = chat.agent_reply(ticket.id, "agent1", "Hallo Anna!")
    assert sent.mail_error and "SMTPRecipientsRefused" in sent.mail_error
    assert "anna@example.de" not in sent.mail_error and sent.emailed_to == "a…@example.de"


def test_within_hours_an_address_in_the_chat_is_not_taken_as_consent(default_engine, tmp_path,
                                                                     smtp):
    always = {"weekly": {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                     "sun")}}
    chat = chat_with(default_engine, tmp_path, always, smtp["port"])
    sid, _ = chat.start_conversation()
    ticket = chat.send(sid, "Ich möchte mit einem Mitarbeiter sprechen").ticket
    chat.send(sid, "Mein Kundenkonto läuft auf anna@example.de")
    assert chat.state.contact_of(ticket.id) is None  # no offer was made: nothing kept
