"""What one message and the conversation before it may bring into the answer chain.

Understanding, retrieval and follow-up rewriting take time in the length of what they
read: every distinct word is looked up, respelled and expanded, every earlier turn is
searched for products, and the LLM is shown the last turns. A message of 4,000 characters
repeating one word, or a client that sends sixty earlier turns, must not cost as much as
a hundred plain questions. ``bounded`` cuts both once, where the chain takes them in, to
the limits of ``reading`` (``kb.settings.ReadingSettings``); nothing after it reads the
raw input. The conversation is stored whole: only what is read is cut.

    >>> text, turns = bounded("Versand " * 500, [], ReadingSettings())
    >>> len(text) <= 1500, turns
    (True, ())
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from bot.answer.followup import Turn
from kb.settings import ReadingSettings

_WORD = re.compile(r"\w+")


def clip(text: str, max_chars: int, max_terms: int) -> str:
    """The start of ``text`` with at most ``max_chars`` characters and ``max_terms``
    distinct words (case-insensitive), cut after a whole word; ``text`` itself when it
    keeps within both."""
    head = text[:max_chars]
    seen: set[str] = set()
    for match in _WORD.finditer(head):
        seen.add(match.group().casefold())
        if len(seen) > max_terms:
            return head[:match.start()].rstrip()
    if len(text) <= max_chars:
        return text
    end = len(head)
    if _in_word(text[max_chars]):  # the cut falls inside a word: leave its beginning out
        while end and _in_word(head[end - 1]):
            end -= 1
    return head[:end].rstrip() if end else head  # one word longer than max_chars: its start


def _in_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def bounded(text: str, history: Sequence[Turn],
            reading: ReadingSettings) -> tuple[str, tuple[Turn, ...]]:
    """The message and the earlier turns as far as they are read: the message clipped to
    ``max_chars`` and ``max_terms``, the last ``max_turns`` turns with each question and
    answer clipped to ``max_turn_chars`` and ``max_terms``."""
    turns = tuple(
        replace(turn, question=clip(turn.question, reading.max_turn_chars, reading.max_terms),
                answer=clip(turn.answer, reading.max_turn_chars, reading.max_terms))
        for turn in list(history)[-reading.max_turns:])
    return clip(text, reading.max_chars, reading.max_terms), turns
