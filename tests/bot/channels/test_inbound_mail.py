"""Reading an incoming e-mail: what the customer wrote, and whether a machine sent it.
The messages are built the way German and English mail programs write them."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from bot.channels.inbound_mail import InboundMail


def mail(body: str = "Wie lange dauert die Lieferung nach Österreich?", subject: str = "Frage",
         sender: str = "Anna Muster <anna@example.de>", html: str | None = None,
         **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@bergpfad.example"
    message["Subject"] = subject
    message["Message-ID"] = "<m1@example.de>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def test_a_person_s_question_without_greeting_closing_signature_and_quote():
    body = ("Hallo liebes Team,\n\nich habe am Montag bestellt. Wie lange dauert die Lieferung "
            "nach Österreich?\n\nViele Grüße\nAnna Muster\nTel. 0171 2345678\n\n"
            "Am 24.11.2026 um 10:00 schrieb Bergpfad Service <service@bergpfad.example>:\n"
            "> Danke für deine Nachricht.\n")
    parsed = InboundMail.parse(mail(body))
    assert parsed.automated == ""
    assert parsed.sender == parsed.reply_to == "anna@example.de"
    assert parsed.question() == ("ich habe am Montag bestellt. Wie lange dauert die Lieferung "
                                 "nach Österreich?")


@pytest.mark.parametrize("tail", [
    "-- \nAnna Muster\nMusterweg 1",
    "-----Ursprüngliche Nachricht-----\nVon: Service\nBetreff: Ihre Bestellung",
    "Von: Bergpfad Service <service@bergpfad.example>\nGesendet: Montag, 23. November 2026",
    "On Mon, Nov 23, 2026 at 10:00 AM Bergpfad <service@bergpfad.example> wrote:\n> Hello",
    "Mit freundlichen Grüßen\nAnna Muster",
    "Best regards,\nAnna",
    "Gesendet von meinem iPhone",
])
def test_everything_after_the_new_text_is_cut(tail):
    parsed = InboundMail.parse(mail(f"Kann ich die Jacke umtauschen?\n\n{tail}\n"))
    assert parsed.question() == "Kann ich die Jacke umtauschen?"


def test_html_only_mail_loses_tags_styles_and_the_quoted_history():
    message = EmailMessage()
    message["From"] = "anna@example.de"
    message["Subject"] = "Rücksendung"
    message.set_content("<html><head><style>p{color:red}</style></head><body><p>Hallo,</p>"
                        "<p>wie lange habe ich Zeit f&uuml;r eine R&uuml;cksendung?</p>"
                        "<blockquote>Alte Nachricht mit Preis 99 Euro</blockquote></body></html>",
                        subtype="html")
    parsed = InboundMail.parse(message.as_bytes())
    assert parsed.question() == "wie lange habe ich Zeit für eine Rücksendung?"


def test_a_short_text_gets_an_informative_subject_in_front_but_not_a_generic_one():
    assert InboundMail.parse(mail("Danke!", subject="Lieferzeit nach Österreich?")).question() \
        == "Lieferzeit nach Österreich?"
    assert InboundMail.parse(mail("Was kostet der Versand?", subject="Lieferung Österreich")) \
        .question() == "Lieferung Österreich. Was kostet der Versand?"
    assert InboundMail.parse(mail("Was kostet der Versand?", subject="Frage")).question() \
        == "Was kostet der Versand?"
    long_body = "Ich habe eine Frage zu meiner Bestellung: wann kommt das Zelt an?"
    assert InboundMail.parse(mail(long_body, subject="Zelt")).question() == long_body
    # A reply in a thread: its "Re: …" subject repeats what was asked before.
    assert InboundMail.parse(mail("Und nach Italien?", subject="Re: Lieferung Österreich",
                                  In_Reply_To="<bot1@bergpfad.example>")).question() \
        == "Und nach Italien?"


def test_thread_ids_nearest_first_and_subject_prefixes():
    parsed = InboundMail.parse(mail(subject="AW: Re: WG: Lieferung", In_Reply_To="<c@x>",
                                    References="<a@x> <b@x> <c@x>"))
    assert parsed.message_id == "<m1@example.de>"
    assert parsed.thread_ids == ("<c@x>", "<b@x>", "<a@x>")
    assert parsed.clean_subject() == "Lieferung"


@pytest.mark.parametrize("headers, subject, why", [
    ({"Auto_Submitted": "auto-replied"}, "Re: Frage", "auto-reply"),
    ({"Auto_Submitted": "auto-generated"}, "Frage", "auto-reply"),
    ({}, "Abwesenheitsnotiz: Frage", "auto-reply"),
    ({}, "Automatische Antwort: Frage", "auto-reply"),
    ({}, "Out of Office: question", "auto-reply"),
    ({}, "Automatic reply: question", "auto-reply"),
    ({"X_Autoreply": "yes"}, "Frage", "auto-reply"),
    ({"List_Id": "<outdoor.lists.example>"}, "Frage", "mailing list"),
    ({"List_Unsubscribe": "<mailto:leave@lists.example>"}, "Newsletter", "mailing list"),
    ({"Precedence": "bulk"}, "Angebote", "precedence bulk"),
    ({"Precedence": "list"}, "Frage", "mailing list"),
    ({"Return_Path": "<>"}, "Frage", "bounce"),
])
def test_machines_are_recognised(headers, subject, why):
    assert InboundMail.parse(mail(subject=subject, **headers)).automated == why


def test_people_are_not_taken_for_machines():
    assert InboundMail.parse(mail(Auto_Submitted="no")).automated == ""
    assert InboundMail.parse(mail(subject="Re: Meine Abwesenheit im Dezember – Lieferung?"))\
        .automated == ""


def test_a_bounce_report_and_no_reply_senders():
    report = (b"From: Mail Delivery System <MAILER-DAEMON@mail.example>\r\n"
              b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b@mail.example>\r\n"
              b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
              b' boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail '
              b"system.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
              b"Reporting-MTA: dns; mail.example\r\n--B--\r\n")
    assert InboundMail.parse(report).automated == "bounce"
    # The report's type alone marks it, whoever sent it.
    assert InboundMail.parse(report.replace(b"MAILER-DAEMON", b"anna")).automated == "bounce"
    assert InboundMail.parse(mail(sender="noreply@shop.example")).automated == "no-reply sender"
    # A web form sends from a no-reply address on the customer's behalf: Reply-To is the customer.
    form = InboundMail.parse(mail(sender="noreply@shop.example", Reply_To="Anna <anna@example.de>"))
    assert form.automated == "" and form.reply_to == "anna@example.de"
    assert InboundMail.parse(mail(sender="undisclosed-recipients:;")).automated == \
        "no sender address"


def test_a_wrong_charset_and_a_message_without_text_do_not_break_reading():
    raw = (b"From: anna@example.de\r\nSubject: Frage\r\nMessage-ID: <w@x>\r\n"
           b"Content-Type: text/plain; charset=bogus-8\r\n\r\nWie lange dauert die Lieferung?\r\n")
    assert InboundMail.parse(raw).question() == "Wie lange dauert die Lieferung?"
    photo = EmailMessage()
    photo["From"] = "anna@example.de"
    photo["Subject"] = "Foto"
    photo.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="riss.png")
    parsed = InboundMail.parse(photo.as_bytes())
    assert parsed.body == "" and parsed.question() == "Foto" and parsed.attachments == 1


@pytest.mark.parametrize("body, expected", [
    ("Hallo, wie lange dauert die Lieferung nach Österreich", "wie lange dauert die Lieferung nach Österreich"),
    ("Hi, kann ich die Jacke umtauschen", "kann ich die Jacke umtauschen"),
    ("Sehr geehrte Damen und Herren,\nich möchte die Jacke umtauschen.",
     "ich möchte die Jacke umtauschen."),
    ("Liebe Grüße aus Wien, wann kommt mein Zelt?", "Liebe Grüße aus Wien, wann kommt mein Zelt?"),
    ("Danke!\nWann kommt meine Lieferung?", "Danke! Wann kommt meine Lieferung?"),
    ("Wann kommt meine Lieferung?\nDanke und viele Grüße\nAnna", "Wann kommt meine Lieferung?"),
    # Written below the quote, as Thunderbird does by default.
    ("Am 24.11.2026 um 10:00 schrieb Bergpfad Service <service@bergpfad.example>:\n"
     "> Das Zelt kommt am Freitag.\n\nUnd wann kommt der Schlafsack?",
     "Und wann kommt der Schlafsack?"),
])
def test_the_customer_s_words_survive_greetings_closings_and_quotes(body, expected):
    assert InboundMail.parse(mail(body, subject="Frage")).question() == expected


@pytest.mark.parametrize("subject", [
    "Ich bin nicht zufrieden mit der Lieferung", "Ich bin vom Kaufvertrag zurückgetreten (Widerruf)",
    "Abwesenheit bei Zustellung", "Urlaubsabwesenheit: bitte später liefern"])
def test_subjects_of_people_that_resemble_auto_replies_are_people_s(subject):
    assert InboundMail.parse(mail(subject=subject)).automated == ""
