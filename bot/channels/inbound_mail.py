"""One incoming e-mail, read for what a customer wrote and whether a person wrote it.

    >>> mail = InboundMail.parse(raw_bytes)
    >>> mail.automated          # "auto-reply", "mailing list", "bounce" … or "" for a person
    >>> mail.question()         # the new text: no quoted history, greeting or signature

Machines must never be answered: an answer to an out-of-office notice or a bounce
starts a loop, and one to a mailing list goes to everyone on it. The signs are those
of RFC 3834 (``Auto-Submitted``), RFC 2369/2919 (``List-*``), RFC 3464
(``multipart/report`` delivery status) and the headers and subjects that common mail
programs put on their auto-replies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from bot.chat.pii import find_email

# Subjects of out-of-office and delivery notices in German and English mail programs.
# Subjects that out-of-office and delivery notices start with, in German and English mail
# programs; a person's subject hardly starts so.
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatische antwort|auto(matic)?[ -]?reply|autoreply|abwesenheitsnotiz|"
    r"out of (the )?office( reply| autoreply)?:|delivery status notification|"
    r"undeliver(ed|able)( mail)?:|unzustellbar:|returned mail:|mail delivery (failed|system))",
    re.I)
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.I)
_NOREPLY = re.compile(r"^(no-?reply|do-?not-?reply|noreply-[^@]*)@", re.I)
# Where the quoted history of a reply starts.
# The attribution line above a quote ("Am … schrieb Anna:"): a reply may follow the quote.
_ATTRIBUTION = re.compile(r"^(am .{4,120} schrieb .{1,120}:|on .{4,120} wrote:)\s*$", re.I)
# Where an unquoted history starts (Outlook's header block, forwarded messages): cut there.
_HISTORY_START = re.compile(
    r"^(-{2,}\s*(original message|ursprüngliche nachricht|weitergeleitete nachricht|"
    r"forwarded message)\s*-{2,}|(von|from):\s.+)\s*$", re.I)
# A greeting at the start of the text, up to its comma or exclamation mark (or the whole
# line when nothing follows it).
_GREETING = re.compile(
    r"^(hallo|hi|hey|moin|servus|grüß gott|guten (tag|morgen|abend)|sehr geehrte[rs]?|"
    r"liebe[rs]?(?! grüße)|hello|dear|good (morning|afternoon|evening))\b([^.?!,:]{0,50}[,!:]\s*|"
    r"[^.?!,:]{0,50}$)", re.I)
_CLOSING = re.compile(
    r"^((viele|beste|liebe|freundliche|herzliche|schöne)n? grüße|mit freundlichen grüßen|mfg|"
    r"lg|vg|gruß|grüße|(best|kind|warm) regards|regards|best wishes|cheers|thanks?( you)?|"
    r"vielen dank|danke( schön| dir| euch)?|sent from my|gesendet von)\b", re.I)
_SUBJECT_PREFIX = re.compile(r"^\s*((re|aw|wg|fwd?|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.I)
_GENERIC_SUBJECTS = {"", "frage", "anfrage", "hallo", "hilfe", "kontakt", "info", "question",
                     "help", "hello", "support", "kein betreff", "(kein betreff)", "no subject",
                     "(no subject)", "kundenservice", "service"}
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")


@dataclass(frozen=True)
class InboundMail:
    """What Lotse needs of one message. ``body`` is the whole text part (HTML turned into
    text); ``automated`` names why a machine sent it, empty for a person."""

    message_id: str
    sender: str
    reply_to: str
    subject: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    body: str
    automated: str
    date: float | None
    attachments: int = 0

    @classmethod
    def parse(cls, raw: bytes) -> InboundMail:
        message = message_from_bytes(raw, policy=policy.default)
        sender = _address(message, "From")
        reply_to = _address(message, "Reply-To") or sender
        return cls(
            message_id=(_MESSAGE_ID.findall(str(message.get("Message-ID", ""))) or [""])[0],
            sender=sender,
            reply_to=reply_to,
            subject=" ".join(str(message.get("Subject", "")).split()),
            in_reply_to=tuple(_MESSAGE_ID.findall(str(message.get("In-Reply-To", "")))),
            references=tuple(_MESSAGE_ID.findall(str(message.get("References", "")))),
            body=_text_of(message),
            automated=_automated(message, sender, reply_to),
            date=_date(message),
            attachments=sum(1 for _ in message.iter_attachments())
            if message.is_multipart() else 0,
        )

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message ids this one answers, nearest first."""
        return tuple(dict.fromkeys(self.in_reply_to + tuple(reversed(self.references))))

    def clean_subject(self) -> str:
        return _SUBJECT_PREFIX.sub("", self.subject).strip()

    def question(self) -> str:
        """The customer's new words: the quoted history, the greeting, the closing and the
        signature removed. A short text gets its subject in front when the subject says
        more than "Frage" (many write "Lieferzeit Österreich?" there and "Danke" below)."""
        lines = _new_lines(self.body.splitlines())
        if lines:
            lines[0] = _GREETING.sub("", lines[0], count=1).strip()
        text = " ".join(" ".join(_without_signature(lines)).split())
        subject = self.clean_subject()
        if subject.lower().strip(" ?!.") not in _GENERIC_SUBJECTS and len(text.split()) < 8 \
                and subject.lower() not in text.lower() and not self.in_reply_to:
            joint = " " if subject[-1] in ".?!" else ". "
            text = f"{subject}{joint}{text}".strip() if text else subject
        return text


def _new_lines(body: list[str]) -> list[str]:
    """The lines the sender wrote now: quoted lines and their attribution are skipped (an
    answer below a quote is kept); an unquoted history or a signature ends the text."""
    lines: list[str] = []
    for i, line in enumerate(body):
        stripped = line.strip()
        if line.rstrip(" ") == "--" or _HISTORY_START.match(stripped):
            break
        if _ATTRIBUTION.match(stripped):
            following = next((b.strip() for b in body[i + 1:] if b.strip()), "")
            if not following.startswith(">"):
                break  # an attribution over history that is not quoted
            continue
        if stripped.startswith(">"):
            continue
        lines.append(stripped)
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def _without_signature(lines: list[str]) -> list[str]:
    """``lines`` without the closing formula and what follows it, found from the bottom: a
    short line with a closing ("Viele Grüße", "Danke!"), after which only short lines without
    a question come (the name, a phone number)."""
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if "?" in line or len(line.split()) > 8:
            return lines  # the text itself: no signature below this
        if _CLOSING.match(line) and (i > 0 or len(line.split()) <= 3):
            return lines[:i]
    return lines


def _address(message: EmailMessage, header: str) -> str:
    pairs = getaddresses([str(v) for v in message.get_all(header, [])])
    for _name, address in pairs:
        if address and find_email(address) == address:
            return address.lower()
    return ""


def _date(message: EmailMessage) -> float | None:
    try:
        return parsedate_to_datetime(str(message["Date"])).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _automated(message: EmailMessage, sender: str, reply_to: str) -> str:
    """Why a machine sent ``message``, or "" when a person did. A web form's message comes
    from a no-reply address with the customer in ``Reply-To``: a person's."""
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return "auto-reply"
    if message.get_content_type() == "multipart/report" or _BOUNCE_SENDER.match(sender) \
            or str(message.get("Return-Path", "")).strip() == "<>":
        return "bounce"
    if any(message.get(h) for h in ("List-Id", "List-Unsubscribe", "List-Post")):
        return "mailing list"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return "mailing list" if precedence == "list" else f"precedence {precedence}"
    if any(message.get(h) for h in ("X-Autoreply", "X-Autorespond")) \
            or _AUTO_SUBJECT.match(str(message.get("Subject", ""))):
        return "auto-reply"
    if not reply_to:
        return "no sender address"
    if _NOREPLY.match(reply_to):
        return "no-reply sender"
    return ""


class _Text(HTMLParser):
    """The visible text of an HTML part, a line per block."""

    _BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "head"):
            self._skip += 1
        if tag == "blockquote":  # the quoted history of a reply
            self._quote += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("style", "script", "head") and self._skip:
            self._skip -= 1
        if tag == "blockquote" and self._quote:
            self._quote -= 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip and not self._quote:
            self.parts.append(data)


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError, AssertionError):  # an unknown or wrong charset
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        parser = _Text()
        parser.feed(content)
        content = "".join(parser.parts)
    return "\n".join(line.rstrip() for line in content.splitlines())
