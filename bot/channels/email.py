"""Agents' replies by e-mail, for customers who left the chat and asked for it.

    >>> channel = EmailChannel(settings.mail, brand="Bergpfad Outdoor")
    >>> channel.deliver("anna@example.de", ticket, "Hallo Anna, …", "de")

One message per reply over SMTP (STARTTLS, TLS or, for a local relay, plain),
sent while the agent waits, so a failure shows in the agent's view instead of
being lost in a queue. The address is used for nothing else.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from bot.chat.pii import find_email
from bot.chat.state import Ticket
from kb.errors import InvalidInput
from kb.settings import MailSettings

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


class EmailChannel:
    """Sends an agent's reply to the address a customer gave for one ticket."""

    def __init__(self, settings: MailSettings, brand: str) -> None:
        self.settings = settings
        self.brand = brand

    def deliver(self, to: str, ticket: Ticket, text: str, language: str) -> None:
        """Send ``text`` to ``to``; raises ``InvalidInput`` for an address that is not one,
        ``OSError``/``smtplib.SMTPException`` when the server refuses or cannot be reached."""
        if find_email(to) != to:
            raise InvalidInput(f"{to[:80]!r} is not an e-mail address")
        texts = _TEXTS.get(language, _TEXTS["de"])
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = texts["subject"].format(number=ticket.number, brand=self.brand)
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2] or None)
        message.set_content(f"{text}\n\n{texts['footer'].format(number=ticket.number, brand=self.brand)}\n")
        with self._connect() as smtp:
            smtp.send_message(message)

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
