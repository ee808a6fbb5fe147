"""E-mail as a channel: Lotse reads a support mailbox over IMAP and answers in the thread.

    >>> poller = MailboxPoller(chat, settings.mailbox, EmailChannel(settings.mail, brand, state))
    >>> poller.run_once()        # one look at the folder; `lotse serve` repeats it
    [Handled(action='answered', …), Handled(action='ignored', why='auto-reply', …)]

One process at a time looks at the mailbox (a lease in the state database). Each new
message is claimed there too, so a crash in the middle is picked up again and nothing
is answered twice. A message is read (``bot.channels.inbound_mail``) and then:

- sent by a machine (auto-reply, mailing list, bounce, no-reply sender, Lotse's own
  address) or unreadable: never answered, left unread for a person;
- part of a conversation with an open ticket: added to the ticket, where the agent
  answers by e-mail in the same thread (a question the documents answer is answered at
  once too, as in the chat, while the person is on the way);
- otherwise answered like a chat message, with the same rules, redaction and KPIs:
  an answer with its sources as footnotes when Lotse is sure, else a ticket and a
  reply saying so. Too long, only an attachment, or too large: a ticket.

A message is the next one of a conversation when it quotes (``In-Reply-To``,
``References``) an e-mail Lotse sent in it and comes from the conversation's address.
Lotse sends one address at most ``replies_per_address_per_day`` e-mails; after that its
messages go to a person without a reply, which ends any loop with a robot that does not
say it is one. What Lotse answered is marked ``\\Seen`` and ``\\Answered``; whatever needs
a person's eyes in the mailbox (machines' messages, attachments, replies not sent yet)
stays unread. Handled messages get the keyword ``$Lotse`` where the server keeps
keywords; the state database decides what is handled either way. A reply the SMTP
server refuses is tried again with a growing pause (six tries in about 16 minutes), then
handed to a person.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import re
import ssl
import time
import uuid
from dataclasses import dataclass
from email.utils import getaddresses

from bot.answer.question import MAX_QUESTION_CHARS, InvalidQuestion
from bot.channels.email import EmailChannel
from bot.channels.inbound_mail import InboundMail
from bot.chat.background import Repeating
from bot.chat.ratelimit import RateLimited
from bot.chat.service import ChatService, Reply
from bot.chat.state import mail_key
from kb.channel_settings import MailboxSettings
from kb.text import detect_language

log = logging.getLogger(__name__)

KEYWORD = "$Lotse"
MAX_BYTES = 10 * 1024 * 1024  # larger messages carry attachments a person has to open
SEND_ATTEMPTS = 6
LEASE = "mailbox"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")

_FOOTER = {
    "de": {"answer": "—\nDiese Antwort hat Lotse, der KI-Assistent von {brand}, aus unseren "
                     "Unterlagen zusammengestellt (Quellen oben). Ist noch etwas offen, antworte "
                     "einfach auf diese E-Mail; schreibst du „Mitarbeiter“, übernimmt ein Mensch "
                     "aus unserem Serviceteam. Deine Nachrichten speichern wir für diesen Verlauf "
                     "und löschen sie auf Wunsch.",
           "handoff": "—\nDiese Nachricht hat Lotse, der KI-Assistent von {brand}, geschrieben. "
                      "Die Antwort des Serviceteams kommt in diesem E-Mail-Verlauf; möchtest du "
                      "etwas ergänzen, antworte einfach auf diese E-Mail."},
    "en": {"answer": "—\nLotse, the AI assistant of {brand}, put this answer together from our "
                     "documents (sources above). If anything is still open, just reply to this "
                     "e-mail; write \"human\" and a person from our service team takes over. We "
                     "keep your messages for this conversation and delete them on request.",
           "handoff": "—\nLotse, the AI assistant of {brand}, wrote this message. The service "
                      "team's answer will come in this e-mail thread; to add anything, just "
                      "reply to this e-mail."},
}
_ATTACHMENTS = {"de": "[{n} Anhang/Anhänge: im Postfach ansehen]",
                "en": "[{n} attachment(s): see the mailbox]"}


@dataclass(frozen=True)
class Handled:
    """What became of one message: ``action`` is answered, handed_off, forwarded, ignored,
    busy (another process has it) or deferred (a rate limit: read again at the next look),
    with ``why``. ``for_a_person``: it stays unread in the mailbox."""

    action: str
    why: str = ""
    session_id: str | None = None
    ticket: str | None = None
    for_a_person: bool = False
    replied: bool = False


class MailboxPoller(Repeating):
    """Reads the mailbox every ``poll_seconds`` in a background thread (``start``/``stop``);
    ``run_once`` is one look, and what the thread repeats."""

    def __init__(self, chat: ChatService, settings: MailboxSettings, channel: EmailChannel) -> None:
        super().__init__("lotse-mailbox", 2 * settings.timeout_s + 5)
        self.chat = chat
        self.settings = settings
        self.channel = channel
        own = [channel.settings.sender, settings.address, settings.username]
        self.own_addresses = {a.lower() for _n, a in getaddresses(own) if "@" in a}
        self.reply_to = settings.address
        self._holder = uuid.uuid4().hex

    def _round(self) -> None:
        self.run_once()

    def _pause(self) -> float:
        return self.settings.poll_seconds

    # -- one look ----------------------------------------------------------------------
    def run_once(self, most: int = 50) -> list[Handled]:
        """Send the replies that are due, then handle up to ``most`` new messages; nothing
        while another process is looking at the mailbox."""
        state = self.chat.state
        lease = 4 * self.settings.timeout_s + 120
        if not state.take_lease(LEASE, self._holder, lease):
            return []
        try:
            self.send_pending()
            return self._look(most, lease)
        finally:
            state.drop_lease(LEASE, self._holder)

    def _look(self, most: int, lease: float) -> list[Handled]:
        state = self.chat.state
        imap = self._connect()
        try:
            keywords = self._select(imap) and self.settings.use_keyword
            since = time.time() - 3600 * self.settings.max_age_hours
            day = time.gmtime(since - 86400)  # SEARCH SINCE counts whole days
            # Messages a person has already answered in their mail program are theirs.
            criteria = ["UNANSWERED", "SINCE",
                        f"{day.tm_mday:02d}-{_MONTHS[day.tm_mon - 1]}-{day.tm_year}"]
            if keywords:
                criteria[:0] = ["UNKEYWORD", KEYWORD]
            status, data = imap.uid("SEARCH", None, *criteria)
            if status != "OK":
                raise imaplib.IMAP4.error(f"SEARCH failed: {data!r}")
            results: list[Handled] = []
            for uid in (data[0] or b"").split():
                if self._stop.is_set() or sum(h.action not in ("deferred", "busy", "known")
                                              for h in results) >= most:
                    break
                try:
                    handled = self._handle_uid(imap, uid, since)
                except (OSError, imaplib.IMAP4.abort):
                    raise  # the connection is gone: the next look starts over
                except Exception:  # this message only; its claim is taken over later
                    log.exception("mailbox: message %s could not be handled", uid.decode())
                    continue
                self._mark(imap, uid, handled, keywords)
                results.append(handled)
                state.take_lease(LEASE, self._holder, lease)
            state.prune_mail(since - 2 * 86400)
            return [h for h in results if h.action != "known"]
        finally:
            try:
                imap.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    def _connect(self) -> imaplib.IMAP4:
        s = self.settings
        if s.security == "tls":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(s.host, s.port, timeout=s.timeout_s,
                                                    ssl_context=ssl.create_default_context())
        else:
            imap = imaplib.IMAP4(s.host, s.port, timeout=s.timeout_s)
        try:
            if s.security == "starttls":
                imap.starttls(ssl.create_default_context())
            imap.login(s.username, s.password.get_secret_value())
        except BaseException:
            imap.shutdown()
            raise
        return imap

    def _select(self, imap: imaplib.IMAP4) -> bool:
        """Open the folder; whether its server keeps keywords such as ``$Lotse``."""
        folder = self.settings.folder.replace("\\", "\\\\").replace('"', '\\"')
        status, data = imap.select(f'"{folder}"')
        if status != "OK":
            raise imaplib.IMAP4.error(f"folder {self.settings.folder!r}: {data!r}")
        flags = b" ".join(f for f in imap.response("PERMANENTFLAGS")[1] if f)
        return b"\\*" in flags or KEYWORD.encode() in flags

    @staticmethod
    def _fetch(imap: imaplib.IMAP4, uid: bytes, items: str) -> tuple[bytes, bytes]:
        """The response line and the literal of ``items`` for message ``uid`` (a server may
        add lines about other messages to any response)."""
        status, data = imap.uid("FETCH", uid, f"(UID {items})")
        if status == "OK":
            for part in data:
                if isinstance(part, tuple) and re.search(rb"UID %s\b" % uid, part[0]):
                    return part[0], part[1]
        raise imaplib.IMAP4.error(f"FETCH {uid.decode()} failed: {status} {str(data)[:200]}")

    def _handle_uid(self, imap: imaplib.IMAP4, uid: bytes, since: float) -> Handled:
        started = time.perf_counter()
        line, header = self._fetch(imap, uid, "RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER]")
        try:
            known = self.chat.state.mail_outcome(_key(InboundMail.parse(header), header))
        except Exception:  # unreadable: ``handle`` says so
            known = None
        if known is not None and known != "claimed":
            return Handled("known", "handled already")  # marked again; nothing else
        arrived = imaplib.Internaldate2tuple(line)
        if arrived is not None and time.mktime(arrived) < since:
            return Handled("ignored", "older than mailbox.max_age_hours", for_a_person=True)
        size = _SIZE.search(line)
        if size and int(size.group(1)) > MAX_BYTES:
            return self.handle(header, started, too_large=True)
        return self.handle(self._fetch(imap, uid, "BODY.PEEK[]")[1], started)

    @staticmethod
    def _mark(imap: imaplib.IMAP4, uid: bytes, handled: Handled, keywords: bool) -> None:
        if handled.action in ("busy", "deferred"):
            return
        flags = [KEYWORD] if keywords else []
        if handled.replied and not handled.for_a_person:
            flags += ["\\Seen", "\\Answered"]
        elif not handled.for_a_person and handled.action != "known":
            flags.append("\\Seen")
        if flags:
            status, data = imap.uid("STORE", uid, "+FLAGS", f"({' '.join(flags)})")
            if status != "OK":
                log.warning("mailbox: flags of message %s not set: %s", uid.decode(), data)

    # -- one message -------------------------------------------------------------------
    def handle(self, raw: bytes, started: float | None = None, too_large: bool = False) -> Handled:
        """Read, answer or hand over one message (its bytes; only its header when it is
        ``too_large``); safe to call twice."""
        started = started if started is not None else time.perf_counter()
        state = self.chat.state
        try:
            mail = InboundMail.parse(raw)
        except Exception as exc:  # headers no parser makes sense of: a person looks
            key = mail_key(hashlib.sha256(raw).hexdigest())
            if state.claim_mail(key) != "taken":
                return Handled("known", "handled already")
            why = f"unreadable ({type(exc).__name__})"
            state.settle_mail(key, f"ignored: {why}")
            self.chat.record("mail", "", None, outcome="ignored", why="unreadable")
            return Handled("ignored", why, for_a_person=True)
        key = _key(mail, raw)
        claim = state.claim_mail(key)
        if claim != "taken":
            return Handled("busy" if claim == "busy" else "known", f"claim {claim}")
        why = mail.automated
        if not why and (mail.sender in self.own_addresses or mail.reply_to in self.own_addresses):
            why = "our own address"
        if why:
            state.settle_mail(key, f"ignored: {why}")
            self.chat.record("mail", "", None, outcome="ignored", why=why)
            return Handled("ignored", why, for_a_person=True)
        try:
            return self._answer(mail, key, started, too_large)
        except RateLimited as exc:
            state.release_mail(key)
            return Handled("deferred", str(exc))

    def _answer(self, mail: InboundMail, key: str, started: float, too_large: bool) -> Handled:
        state = self.chat.state
        address = mail.reply_to
        session_id = state.mail_session_of(mail.thread_ids, mail.sender)
        new_thread = session_id is None
        if new_thread:
            session_id, _secret = self.chat.start_conversation()
            state.add_mail_thread(session_id, address, mail.clean_subject())
        # Only a subject over a photo or a document: what matters is in the attachment.
        text = "" if too_large or mail.attachments and not mail.body.strip() else mail.question()
        language = detect_language(text) if text else "de"
        client = f"mail:{address}"
        quiet = state.mails_sent_to(address, time.time() - 86400) \
            >= self.settings.replies_per_address_per_day
        try:
            if quiet:  # whatever it says, a person reads it, and no e-mail goes out
                why, reply = "reply limit for this address", self._to_person(
                    session_id, text or mail.subject, "mail_limit", language, client, address)
            elif not text or len(text) > MAX_QUESTION_CHARS:
                why = "too long" if text else ("too large" if too_large else "no text")
                reply = self._to_person(session_id, text or f"[{mail.subject or '—'}]",
                                        "long_message" if text else "no_text", language, client,
                                        address)
            else:
                try:
                    why, reply = "", self.chat.send(session_id, text, client=client,
                                                    contact=address)
                except InvalidQuestion:  # nothing left once read (invisible characters)
                    why, reply = "no text", self._to_person(
                        session_id, f"[{mail.subject or '—'}]", "no_text", language, client,
                        address)
        except RateLimited:
            if new_thread:
                state.delete(session_id)
            raise
        attachments = mail.attachments or (1 if too_large else 0)
        if attachments:
            state.add_message(session_id, "notice",
                              _ATTACHMENTS.get(language, _ATTACHMENTS["de"]).format(n=attachments))
        for_a_person = bool(attachments) or why in ("too long", "no text", "too large")
        ticket = reply.ticket.number if reply.ticket else None
        if reply.forwarded or quiet:  # a person has it, and answers in this thread
            outcome = "forwarded" if reply.forwarded else "handed_off"
            state.settle_mail(key, outcome, session_id, mail.message_id)
            self.chat.record("mail", session_id, None, outcome=outcome)
            return Handled(outcome, why, session_id, ticket, for_a_person=for_a_person or quiet)

        handed_off = reply.answer is None or reply.answer.handoff
        outcome = "handed_off" if handed_off else "answered"
        language = reply.answer.language if reply.answer else language
        footer = _FOOTER.get(language, _FOOTER["de"])["handoff" if handed_off else "answer"]
        state.settle_mail(key, outcome, session_id, mail.message_id, reply={
            "text": f"{reply.text}{reply.footnotes()}\n\n{footer.format(brand=self.chat.brand)}",
            "language": language})
        sent = self._send(key, session_id, 0)
        self.chat.record("mail", session_id, 1000 * (time.perf_counter() - started) if sent
                         else None, outcome=outcome)
        return Handled(outcome, why or ("" if sent else "the reply waits for the SMTP server"),
                       session_id, ticket, for_a_person=for_a_person or not sent, replied=sent)

    def _to_person(self, session_id: str, text: str, reason: str, language: str, client: str,
                   address: str) -> Reply:
        """Store what the customer wrote and open a ticket for it, without the chain."""
        self.chat.state.add_message(session_id, "customer", text)
        return self.chat.request_human(session_id, language, client, reason, address, text[:300])

    # -- replies -------------------------------------------------------------------------
    def send_pending(self) -> int:
        """Send the replies that are due again after the SMTP server refused them; returns
        how many went out."""
        return sum(self._send(key, session_id, attempts)
                   for key, session_id, attempts in self.chat.state.pending_mail_replies())

    def _send(self, key: str, session_id: str, attempts: int) -> bool:
        state = self.chat.state
        reply = state.take_mail_reply(key, attempts, lease=2 * self.channel.settings.timeout_s + 60)
        if reply is None:
            return False
        thread = state.mail_thread(session_id)
        if thread is None:  # erased meanwhile (DSGVO): nothing to send
            state.mail_reply_done(key, "erased")
            return False
        try:
            message_id = self.channel.send_in_thread(thread, reply["text"], reply["language"],
                                                     automatic=True, reply_to=self.reply_to)
        except Exception as exc:  # refused, unreachable, timed out: tried again later
            code = getattr(exc, "smtp_code", None) or getattr(exc, "errno", None)
            reason = type(exc).__name__ + (f" ({code})" if code else "")
            log.warning("e-mail reply in %s not sent (attempt %d): %s", session_id,
                        attempts + 1, reason)
            if attempts + 1 < SEND_ATTEMPTS:
                state.mail_reply_failed(key, time.time() + 30 * 2 ** attempts)
                return False
            state.mail_reply_done(key, "reply_failed")
            self.chat.record("mail_failed", session_id)
            if state.open_ticket_of(session_id) is None:  # a person answers instead
                try:
                    self.chat.request_human(session_id, reply["language"], None, "mail_failed",
                                            thread.address)
                except RateLimited:
                    log.warning("no ticket for the unsent reply in %s: rate limit", session_id)
            return False
        state.sent_mail(session_id, message_id)
        state.mail_reply_done(key, reply["outcome"])
        return True


def _key(mail: InboundMail, raw: bytes) -> str:
    """A received message's key: its Message-ID with its date and sender (some web forms
    send every message with the same id), or its bytes' hash when it has none."""
    if not mail.message_id:
        return mail_key(hashlib.sha256(raw).hexdigest())
    return mail_key(f"{mail.message_id}|{mail.date}|{mail.sender}")
