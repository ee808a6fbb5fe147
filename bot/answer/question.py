"""A customer's message made fit to answer, once, at the boundary of the system.

    >>> q = Question.of("  Was\u200b kostet   der Versand? ")
    >>> q.text, q.language
    ('Was kostet der Versand?', 'de')

The conversation service (and the CLI, for its one-off questions) builds the
``Question``; everything below it (the chain, the answerers, the handoff rules)
takes it as it is, so a message is cleaned once and its language detected once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kb.errors import InvalidInput
from kb.text import detect_language

MAX_QUESTION_CHARS = 4000

# C0/C1 controls (tab and newline are whitespace), soft hyphens, bidi overrides, zero-width
# characters and lone surrogates (JSON allows "\ud800"; no database can store it): none
# carries meaning in a chat message, and the bidi ones can make a stored transcript
# read differently from what was sent ("Trojan Source").
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u200b-\u200f\u202a-\u202e"
                        r"\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]")


class InvalidQuestion(InvalidInput):
    """The question is empty or too long to answer; ``length`` is what was sent."""

    def __init__(self, message: str, length: int = 0) -> None:
        super().__init__(message)
        self.length = length


def clean_question(question: str) -> str:
    """NFC, invisible and control characters dropped, whitespace folded.

    Raises ``InvalidQuestion`` when nothing is left or the text is too long to answer.
    """
    question = unicodedata.normalize("NFC", _INVISIBLE.sub("", question or ""))
    question = re.sub(r"\s+", " ", question).strip()
    if not question:
        raise InvalidQuestion("the message is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidQuestion(
            f"the message has {len(question)} characters; at most {MAX_QUESTION_CHARS} are answered",
            length=len(question))
    return question


@dataclass(frozen=True)
class Question:
    """A cleaned message and the language it is written in ('de' or 'en')."""

    text: str
    language: str

    @classmethod
    def of(cls, raw: str | Question) -> Question:
        """Clean ``raw`` and detect its language; a ``Question`` is returned as it is."""
        if isinstance(raw, Question):
            return raw
        text = clean_question(raw)
        return cls(text, detect_language(text))
