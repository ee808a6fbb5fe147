"""E-mail out: agents' replies, and Lotse's own answers in e-mail conversations.

    >>> channel = EmailChannel(settings.mail, brand="Bergpfad Outdoor", state=state)
    >>> channel.deliver("anna@example.de", ticket, "Hallo Anna, …", "de")

One message per reply over SMTP (STARTTLS, TLS or, for a local relay, plain),
sent while the agent waits, so a failure shows in the agent's view instead of
being lost in a queue. A customer who asked in the chat for the answer by e-mail
gets a message of its own; a conversation that runs by e-mail
(``bot.channels.mailbox``) is answered in its thread (``In-Reply-To``,
``References``, "Re:" subject), where replying reaches the team again.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from bot.chat.pii import find_email
from bot.chat.state import MailThread, StateStore, Ticket
from kb.channel_settings import MailSettings
from kb.errors import InvalidInput

log = logging.getLogger(__name__)

_TEXTS = {
    "de": {"subject": "Antwort auf dein Anliegen ({number}) – {brand}",
           "footer": "—\nDiese E-Mail beantwortet dein Ticket {number} beim Kundenservice von "
                     "{brand}. Du bekommst sie, weil du im Chat um die Antwort per E-Mail "
                     "gebeten hast; deine Adresse löschen wir, sobald das Ticket abgeschlossen "
                     "ist. Antworten auf diese E-Mail erreichen das Team nicht: schreib uns "
                     "dafür im Chat."},
    "en": {"subject": "Reply to your request ({number}) – {brand}",
           "footer": "—\nThis e-mail answers your ticket {number} with {brand} customer "
                     "service. You get it because you asked for the answer by e-mail in the "
                     "chat; we delete your address as soon as the ticket is closed. Replies to "
                     "this e-mail do not reach the team: please write to us in the chat."},
}
# An agent's reply in a conversation that runs by e-mail.
_THREAD_FOOTER = {
    "de": "—\n{brand} Kundenservice, Ticket {number}. Wenn noch etwas offen ist, antworte "
          "einfach auf diese E-Mail.",
    "en": "—\n{brand} customer service, ticket {number}. If anything is still open, just reply "
          "to this e-mail.",
}
_NO_SUBJECT = {"de": "Deine Anfrage bei {brand}", "en": "Your request to {brand}"}


class EmailChannel:
    """Sends an agent's reply to the address a customer gave for one ticket."""

    def __init__(self, settings: MailSettings, brand: str, state: StateStore | None = None) -> None:
        self.settings = settings
        self.brand = brand
        self.state = state  # None: no conversations by e-mail, every reply is a new message

    def deliver(self, to: str, ticket: Ticket, text: str, language: str) -> None:
        """Send ``text`` to ``to``; raises ``InvalidInput`` for an address that is not one,
        ``OSError``/``smtplib.SMTPException`` when the server refuses or cannot be reached."""
        if find_email(to) != to:
            raise InvalidInput(f"{to[:80]!r} is not an e-mail address")
        thread = self.state.mail_thread(ticket.session_id) if self.state else None
        if thread is not None and thread.address == to.lower():
            footer = _THREAD_FOOTER.get(language, _THREAD_FOOTER["de"])
            message_id = self.send_in_thread(
                thread, f"{text}\n\n{footer.format(brand=self.brand, number=ticket.number)}",
                language, automatic=False)
            try:  # sent: a failure to remember it must not read as a failure to send
                self.state.sent_mail(thread.session_id, message_id)
            except Exception:
                log.exception("e-mail %s sent but not recorded", message_id)
            return
        texts = _TEXTS.get(language, _TEXTS["de"])
        message = self._message(to, texts["subject"].format(number=ticket.number, brand=self.brand))
        message.set_content(f"{text}\n\n{texts['footer'].format(number=ticket.number, brand=self.brand)}\n")
        with self._connect() as smtp:
            smtp.send_message(message)

    def send_in_thread(self, thread: MailThread, body: str, language: str, automatic: bool,
                       reply_to: str = "") -> str:
        """Send ``body`` as the next message of an e-mail conversation; returns its
        Message-ID, which the caller stores for the customer's answer. ``automatic`` marks
        Lotse's own answers as auto-replies (RFC 3834), so that other machines do not answer
        them; ``reply_to`` names the mailbox customers should write to."""
        subject = thread.subject or _NO_SUBJECT.get(language, _NO_SUBJECT["de"]).format(brand=self.brand)
        message = self._message(thread.address, f"Re: {subject}")
        if reply_to and reply_to.lower() != self.settings.sender.lower():
            message["Reply-To"] = reply_to
        if thread.last_received:
            message["In-Reply-To"] = thread.last_received
        if thread.message_ids:
            message["References"] = " ".join(thread.message_ids)
        if automatic:
            message["Auto-Submitted"] = "auto-replied"
        message.set_content(f"{body}\n")
        with self._connect() as smtp:
            smtp.send_message(message)
        return message["Message-ID"]

    def _message(self, to: str, subject: str) -> EmailMessage:
        # Lines up to 998 characters (RFC 5322): the default policy would fold and encode a
        # long Message-ID in References (Outlook's are long), and mail programs would no
        # longer find the thread.
        message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2] or None)
        return message

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        try:
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, s.password.get_secret_value())
        except BaseException:
            smtp.close()
            raise
        return smtp
