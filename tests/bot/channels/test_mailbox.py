"""E-mail as a channel against real servers: Debian's dovecot holds the support mailbox
(IMAP), aiosmtpd receives what Lotse sends (SMTP), and the answers come from the real
corpus and embedder. Customers' messages are put into the mailbox over IMAP, as a mail
server would deliver them."""

from __future__ import annotations

import dataclasses
import imaplib
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from bot.channels.email import EmailChannel
from bot.channels.mailbox import KEYWORD, MailboxPoller
from bot.chat.service import ChatService
from bot.chat.state import StateStore
from bench.servers import free_port, imap_server, smtp_server

SERVICE = "service@bergpfad.example"


@pytest.fixture(scope="module")
def imap():
    with imap_server() as server:
        yield server


@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


def connect(imap: dict) -> imaplib.IMAP4:
    client = imaplib.IMAP4(imap["host"], imap["port"])
    client.login(imap["user"], imap["password"])
    return client


@pytest.fixture
def inbox(imap):
    """The mailbox, emptied before each test; ``put`` delivers a message into it."""
    client = connect(imap)
    client.select("INBOX")
    if client.search(None, "ALL")[1][0]:
        client.store("1:*", "+FLAGS", "(\\Deleted)")
        client.expunge()

    def put(raw: bytes, arrived: float | None = None) -> None:
        client.append("INBOX", None, imaplib.Time2Internaldate(arrived or time.time()), raw)

    def flags() -> list[set[str]]:
        """Each message's flags, without the session flag ``\\Recent``."""
        client.select("INBOX")
        if not client.search(None, "ALL")[1][0]:
            return []
        _status, data = client.fetch("1:*", "(FLAGS)")
        return [{f.decode() for f in imaplib.ParseFlags(line)} - {"\\Recent"} for line in data]

    yield put, flags
    client.logout()


def customer_mail(body: str, subject: str = "Frage", sender: str = "anna@example.de",
                  reply_to_message: EmailMessage | None = None, **headers: str) -> tuple[bytes, str]:
    message = EmailMessage()
    message["From"] = f"Anna Muster <{sender}>"
    message["To"] = SERVICE
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.de")
    if reply_to_message is not None:
        message["In-Reply-To"] = reply_to_message["Message-ID"]
        message["References"] = " ".join(
            filter(None, [reply_to_message.get("References"), reply_to_message["Message-ID"]]))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes(), message["Message-ID"]


def poller_for(engine, tmp_path, imap: dict, smtp_port: int, state: StateStore | None = None,
               **mailbox: object) -> MailboxPoller:
    settings = engine.settings.model_copy(update={
        "mail": engine.settings.mail.model_validate(
            {"host": "127.0.0.1", "port": smtp_port, "security": "none", "sender": SERVICE,
             "timeout_s": 5}),
        "mailbox": engine.settings.mailbox.model_validate(
            {"host": imap["host"], "port": imap["port"], "security": "none",
             "username": imap["user"], "password": imap["password"], "timeout_s": 10,
             **mailbox})}, deep=True)
    state = state or StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    channel = EmailChannel(settings.mail, settings.server.brand, state)
    chat = ChatService(dataclasses.replace(engine, settings=settings), state, mail=channel)
    return MailboxPoller(chat, settings.mailbox, channel)


def test_a_question_the_documents_answer_is_answered_in_its_thread(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    raw, message_id = customer_mail(
        "Hallo zusammen,\n\nwie schwer ist der AlpinPro 35 in Größe M?\n\nViele Grüße\nAnna\n"
        "Tel. 0171 2345678", subject="Gewicht Rucksack")
    put(raw)
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"])
    [handled] = poller.run_once()
    assert handled.action == "answered", handled

    [(recipients, reply)] = smtp["received"]
    assert recipients == ["anna@example.de"]
    assert reply["From"] == SERVICE and reply["Subject"] == "Re: Gewicht Rucksack"
    assert reply["In-Reply-To"] == message_id and message_id in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied"  # other machines must not answer it
    body = reply.get_content()
    assert "1,25 kg" in body
    assert "[1] " in body and "alpinpro-35.md" in body  # the sources as footnotes
    assert "KI-Assistent" in body  # honest about being an AI

    # The stored conversation is redacted like the chat's; the mailbox marks the message.
    chat = poller.chat
    transcript = chat.transcript(handled.session_id)
    assert "0171" not in " ".join(m.text for m in transcript)
    assert flags() == [{KEYWORD, "\\Seen", "\\Answered"}]
    # Looking again answers nothing twice.
    assert poller.run_once() == [] and len(smtp["received"]) == 1
    assert chat.kpis()["email"]["answered"] == 1 and chat.kpis()["conversations"] == 1


def test_machines_are_never_answered_and_stay_unread_for_a_person(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    put(customer_mail("Ich bin bis 30.11. nicht im Büro.", subject="Abwesenheitsnotiz: Frage",
                      Auto_Submitted="auto-replied")[0])
    put(customer_mail("Neue Angebote!", subject="Newsletter", List_Id="<news.example>")[0])
    put(customer_mail("Delivery failed", subject="Undelivered Mail Returned to Sender",
                      sender="mailer-daemon@mail.example")[0])
    put(customer_mail("Wie schwer ist der AlpinPro 35?", sender=SERVICE)[0])  # a loop
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"])
    handled = poller.run_once()
    assert [h.action for h in handled] == ["ignored"] * 4
    assert [h.why for h in handled] == ["auto-reply", "mailing list", "bounce", "our own address"]
    assert smtp["received"] == []
    seen = flags()
    assert seen and all(KEYWORD in f and "\\Seen" not in f for f in seen)
    assert poller.chat.kpis()["email"]["ignored"] == {"auto-reply": 1, "mailing list": 1,
                                                      "bounce": 1, "our own address": 1}
    assert poller.run_once() == []


def test_a_handoff_is_answered_by_the_agent_in_the_same_thread_and_the_customer_s_reply_reaches_the_ticket(
        default_engine, tmp_path, imap, smtp, inbox):
    put, _flags = inbox
    raw, first_id = customer_mail("Ich möchte bitte mit einem Mitarbeiter sprechen, meine "
                                  "Bestellung 5521 ist nicht angekommen.", subject="Bestellung 5521")
    put(raw)
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"])
    chat = poller.chat
    [handled] = poller.run_once()
    assert handled.action == "handed_off" and handled.ticket
    [(_, ack)] = smtp["received"]
    assert handled.ticket in ack.get_content() and ack["In-Reply-To"] == first_id
    [ticket] = chat.queue()
    assert ticket.number == handled.ticket and chat.state.contact_of(ticket.id) == "anna@example.de"

    sent = chat.agent_reply(ticket.id, "agent1", "Hallo Anna, 5521 ist unterwegs.")
    assert sent.mail_error is None and sent.emailed_to == "a…@example.de"
    agent_mail = smtp["received"][-1][1]
    assert agent_mail["Subject"] == "Re: Bestellung 5521"
    assert agent_mail["In-Reply-To"] == first_id
    assert first_id in agent_mail["References"] and ack["Message-ID"] in agent_mail["References"]
    assert "Auto-Submitted" not in agent_mail  # a person wrote it
    assert "antworte einfach auf diese E-Mail" in agent_mail.get_content()

    # The customer answers the agent's e-mail: it lands in the ticket, nobody auto-replies.
    raw, _ = customer_mail("Danke, die Sendungsnummer habe ich aber nicht bekommen.",
                           subject="Re: Bestellung 5521", reply_to_message=agent_mail)
    put(raw)
    [forwarded] = poller.run_once()
    assert forwarded.action == "forwarded" and forwarded.session_id == handled.session_id
    assert len(smtp["received"]) == 2
    assert "Sendungsnummer" in chat.transcript(handled.session_id)[-1].text

    # Once the ticket is closed, a reply in the same thread is Lotse's again.
    chat.close_ticket(ticket.id, resolved=True)
    raw, _ = customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?",
                           subject="Re: Bestellung 5521", reply_to_message=agent_mail)
    put(raw)
    [again] = poller.run_once()
    assert again.action == "answered" and again.session_id == handled.session_id
    assert "1,25 kg" in smtp["received"][-1][1].get_content()


def test_quoting_a_message_id_from_another_address_starts_a_new_conversation(
        default_engine, tmp_path, imap, smtp, inbox):
    put, _flags = inbox
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"])
    raw, first_id = customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")
    put(raw)
    [first] = poller.run_once()
    bot_mail = smtp["received"][-1][1]
    put(customer_mail("Und was kostet er?", subject="Re: Frage", sender="mallory@example.org",
                      reply_to_message=bot_mail)[0])
    # Reply-To is the sender's to choose: naming Anna there does not make it Anna's thread.
    put(customer_mail("Und was kostet er?", subject="Re: Frage", sender="mallory@example.org",
                      reply_to_message=bot_mail, Reply_To="anna@example.de")[0])
    # Quoting Anna's own message (which anyone on copy has) does not join either.
    put(customer_mail("Und was kostet er?", subject="Re: Frage", sender="anna@example.de",
                      In_Reply_To=first_id)[0])
    other, spoofed, own_id = poller.run_once()
    assert len({first.session_id, other.session_id, spoofed.session_id, own_id.session_id}) == 4
    assert smtp["received"][1][0] == ["mallory@example.org"]


def test_an_outlook_length_message_id_stays_one_unencoded_header(
        default_engine, tmp_path, imap, smtp, inbox):
    put, _flags = inbox
    long_id = "<AM0PR07MB6418A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3@AM0PR07MB6418.eurprd07.prod.outlook.com>"
    raw, _ = customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")
    put(raw.replace(b"Message-ID: <", b"X-Old-ID: <", 1).replace(
        b"From:", f"Message-ID: {long_id}\r\nFrom:".encode(), 1))
    poller_for(default_engine, tmp_path, imap, smtp["port"]).run_once()
    reply = smtp["received"][-1][1]
    sent = smtp["raw"][-1].decode()
    assert f"\r\nIn-Reply-To: {long_id}\r\n" in sent and "=?" not in sent.split("\r\n\r\n")[0]
    assert long_id in reply["References"]


def test_a_robot_that_does_not_say_so_gets_a_limited_number_of_replies(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"],
                        replies_per_address_per_day=2)
    previous = None
    for n in range(4):  # a robot that answers every e-mail with a question of its own
        put(customer_mail(f"Wie schwer ist der AlpinPro 35 in Größe M? ({n})",
                          sender="robot@example.net", reply_to_message=previous)[0])
        poller.run_once()
        previous = smtp["received"][-1][1]
    assert len(smtp["received"]) == 2
    [ticket] = poller.chat.queue()
    assert ticket.reason == "mail_limit"
    assert "\\Seen" not in flags()[2]


def test_an_unreadable_message_does_not_hold_up_the_others(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    put(b"From: =?utf-8?q?a=40b.de?= <\r\nMessage-ID: <\r\nSubject: x\r\n\r\nHallo\r\n")
    put(customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")[0])
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"])
    handled = poller.run_once()
    assert [h.action for h in handled][-1] == "answered"
    assert len(smtp["received"]) == 1 and "\\Seen" not in flags()[0]
    assert poller.run_once() == []


def test_a_message_left_half_done_by_a_crash_is_answered_later(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    raw, _ = customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")
    put(raw)
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"])
    from bot.channels.inbound_mail import InboundMail
    from bot.channels.mailbox import _key

    poller.chat.state.claim_mail(_key(InboundMail.parse(raw), raw))  # then the process died
    [busy] = poller.run_once()
    assert busy.action == "busy" and flags() == [set()] and smtp["received"] == []
    with poller.chat.state.engine.begin() as conn:  # ten minutes later
        conn.exec_driver_sql("UPDATE mail_messages SET created_at = created_at - 601")
    [handled] = poller.run_once()
    assert handled.action == "answered" and len(smtp["received"]) == 1


def test_without_keywords_the_database_decides_and_unread_means_for_a_person(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    put(customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")[0])
    put(customer_mail("Neue Angebote!", subject="Newsletter", List_Id="<news.example>")[0])
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"], use_keyword=False)
    answered, ignored = poller.run_once()
    assert (answered.action, ignored.action) == ("answered", "ignored")
    assert flags() == [{"\\Seen", "\\Answered"}, set()]
    assert poller.run_once() == [] and len(smtp["received"]) == 1


def test_what_a_person_already_answered_in_the_mailbox_is_left_to_them(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    put(customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")[0])
    client = connect(imap)
    client.select("INBOX")
    client.store("1", "+FLAGS", "(\\Answered)")
    client.logout()
    assert poller_for(default_engine, tmp_path, imap, smtp["port"]).run_once() == []
    assert smtp["received"] == []


def test_text_with_an_attachment_is_answered_and_stays_unread(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ben@example.de", SERVICE, "Frage"
    message["Message-ID"] = make_msgid(domain="example.de")
    message.set_content("Wie schwer ist der AlpinPro 35 in Größe M?")
    message.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf",
                           filename="rechnung.pdf")
    put(message.as_bytes())
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"])
    [handled] = poller.run_once()
    assert handled.action == "answered" and handled.for_a_person
    assert flags() == [{KEYWORD}]
    assert "Anhang" in poller.chat.transcript(handled.session_id)[-1].text


def test_long_and_textless_messages_go_to_a_person_and_stay_unread(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    put(customer_mail("Mein Zelt ist gerissen. " * 300, subject="Reklamation")[0])
    photo = EmailMessage()
    photo["From"], photo["To"], photo["Subject"] = "ben@example.de", SERVICE, "Foto"
    photo["Message-ID"] = make_msgid(domain="example.de")
    photo.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="riss.png")
    put(photo.as_bytes())
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"])
    long_one, no_text = poller.run_once()
    assert (long_one.action, long_one.why) == ("handed_off", "too long")
    assert (no_text.action, no_text.why) == ("handed_off", "no text")
    tickets = {t.number: t for t in poller.chat.queue()}
    assert tickets[long_one.ticket].reason == "long_message"
    assert tickets[no_text.ticket].reason == "no_text"
    assert "riss.png" not in " ".join(m.text for m in poller.chat.transcript(no_text.session_id))
    assert {tuple(r) for r, _ in smtp["received"]} == {("anna@example.de",), ("ben@example.de",)}
    seen = flags()
    assert seen and all(KEYWORD in f and "\\Seen" not in f for f in seen)


def test_history_older_than_max_age_is_left_alone(default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    put(customer_mail("Wie schwer ist der AlpinPro 35?")[0], arrived=time.time() - 5 * 86400)
    put(customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")[0],
        arrived=time.time() - 3 * 3600)
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"], max_age_hours=2)
    # Five days old: outside SEARCH SINCE. Three hours: found, then left as too old.
    [old] = poller.run_once()
    assert old.action == "ignored" and "max_age" in old.why and smtp["received"] == []


def test_a_reply_the_smtp_server_refuses_is_sent_at_the_next_look(
        default_engine, tmp_path, imap, smtp, inbox):
    put, flags = inbox
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    down = poller_for(default_engine, tmp_path, imap, free_port(), state=state)
    put(customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")[0])
    [handled] = down.run_once()
    assert handled.action == "answered" and "waits" in handled.why and handled.for_a_person
    assert flags() == [{KEYWORD}]  # unread until the reply is out
    assert state.pending_mail_replies() == []  # it waits 30 s before the second try …
    with state.engine.begin() as conn:  # … which the test does not wait for
        conn.exec_driver_sql("UPDATE mail_messages SET next_at = 0")
    assert len(state.pending_mail_replies()) == 1
    up = poller_for(default_engine, tmp_path, imap, smtp["port"], state=state)
    assert up.run_once() == []  # nothing new in the mailbox …
    [(recipients, reply)] = smtp["received"]  # … but the owed reply went out
    assert recipients == ["anna@example.de"] and "1,25 kg" in reply.get_content()
    assert state.pending_mail_replies() == []


def test_a_reply_refused_six_times_goes_to_a_person(default_engine, tmp_path, imap, inbox):
    put, _flags = inbox
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    down = poller_for(default_engine, tmp_path, imap, free_port(), state=state)
    put(customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")[0])
    [handled] = down.run_once()
    for _ in range(5):
        with state.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE mail_messages SET next_at = 0")
        assert down.send_pending() == 0
    [ticket] = down.chat.queue()
    assert ticket.session_id == handled.session_id and ticket.reason == "mail_failed"
    assert state.contact_of(ticket.id) == "anna@example.de"  # the agent's reply is e-mailed
    assert state.pending_mail_replies() == [] and down.chat.kpis()["email"]["answered"] == 1


def test_two_processes_on_one_mailbox_answer_each_message_once(
        default_engine, tmp_path, imap, smtp, inbox):
    put, _flags = inbox
    for n in range(4):
        put(customer_mail(f"Wie schwer ist der AlpinPro 35 in Größe M? ({n})",
                          sender=f"kunde{n}@example.de")[0])
    url = f"sqlite:///{tmp_path / 'state.db'}"
    pollers = [poller_for(default_engine, tmp_path, imap, smtp["port"], state=StateStore(url))
               for _ in range(2)]
    results: list = []
    threads = [threading.Thread(target=lambda p=p: results.extend(p.run_once())) for p in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(r for r, _ in smtp["received"]) == [[f"kunde{n}@example.de"] for n in range(4)]
    assert sum(h.action == "answered" for h in results) == 4


def test_two_processes_send_an_owed_reply_once(default_engine, tmp_path, imap, smtp, inbox):
    put, _flags = inbox
    url = f"sqlite:///{tmp_path / 'state.db'}"
    down = poller_for(default_engine, tmp_path, imap, free_port(), state=StateStore(url))
    put(customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")[0])
    down.run_once()
    with down.chat.state.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE mail_messages SET next_at = 0")
    pollers = [poller_for(default_engine, tmp_path, imap, smtp["port"], state=StateStore(url))
               for _ in range(2)]
    sent: list = []
    threads = [threading.Thread(target=lambda p=p: sent.append(p.send_pending())) for p in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(sent) == [0, 1] and len(smtp["received"]) == 1


def test_an_english_e_mail_gets_an_english_answer(default_engine, tmp_path, imap, smtp, inbox):
    put, _flags = inbox
    put(customer_mail("Hi,\n\nhow heavy is the AlpinPro 35 in size M?\n\nThanks,\nJohn",
                      subject="Backpack weight", sender="john@example.com")[0])
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"])
    [handled] = poller.run_once()
    body = smtp["received"][-1][1].get_content()
    assert handled.action == "answered" and "1.25 kg" in body and "AI assistant" in body


def test_lotse_serve_s_wiring_polls_the_mailbox_in_the_background(
        default_engine, tmp_path, imap, smtp, inbox):
    from bot.wiring import build_chat

    put, _flags = inbox
    poller = poller_for(default_engine, tmp_path, imap, smtp["port"], poll_seconds=1)
    settings = poller.chat.engine.settings.model_copy(update={"home": tmp_path}, deep=True)
    services = build_chat(settings, dataclasses.replace(default_engine, settings=settings),
                          state_url=f"sqlite:///{tmp_path / 'serve.db'}")
    [worker] = [w for w in services.workers if isinstance(w, MailboxPoller)]
    worker.start()
    try:
        put(customer_mail("Wie schwer ist der AlpinPro 35 in Größe M?")[0])
        deadline = time.monotonic() + 60
        while not smtp["received"] and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.stop()
    [(recipients, reply)] = smtp["received"]
    assert recipients == ["anna@example.de"] and "1,25 kg" in reply.get_content()
