"""Follow-up questions without an LLM: carry the product over from earlier turns.

"Und in Größe L?" after a question about the AlpinPro 35 means "AlpinPro 35,
Größe L". A follow-up that names no product gets the most recently discussed
product put in front of it for retrieval; a reply to an ask-back ("der 50er",
"AlpinPro 50") becomes the original question plus the chosen product.

    >>> rewrite("Und in Größe L?", ["Wie schwer ist der AlpinPro 35?"], ["AlpinPro 35", "AlpinPro 50"])
    'AlpinPro 35 Und in Größe L?'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kb.text import fold, words

_FOLLOWUP_START = re.compile(
    r"^(und|oder|aber|auch|dann|what about|and|how about|und wie|und was|wie ist es mit|gibt es)\b"
)
_REFERRING = {"es", "er", "ihn", "ihm", "den", "die", "das", "dem", "dessen", "davon", "dazu",
              "dafür", "damit", "it", "its", "this", "that", "them", "one"}


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: what the customer asked and what Lotse answered."""

    question: str
    answer: str = ""
    ask_back_options: tuple[str, ...] = ()


def named_products(text: str, products: Iterable[str]) -> list[str]:
    """Products named in ``text``, longest names first, matched on folded words."""
    folded = f" {' '.join(fold(w) for w in words(text))} "
    found = [p for p in products if f" {' '.join(fold(w) for w in words(p))} " in folded]
    return sorted(found, key=len, reverse=True)


def _chosen_option(reply: str, options: Sequence[str]) -> str | None:
    """Which ask-back option a short reply picks: by full name or by a distinguishing word."""
    named = named_products(reply, options)
    if named:
        return named[0]
    reply_words = {fold(w).rstrip("er") for w in words(reply)} | {fold(w) for w in words(reply)}
    hits = []
    for option in options:
        distinct = {fold(w) for w in words(option)} - set.intersection(
            *({fold(w) for w in words(o)} for o in options))
        if distinct & reply_words:
            hits.append(option)
    return hits[0] if len(hits) == 1 else None


def is_followup(question: str) -> bool:
    ws = [fold(w) for w in words(question)]
    return (bool(_FOLLOWUP_START.match(" ".join(ws))) or len(ws) <= 5
            or any(w in _REFERRING for w in ws))


def rewrite(question: str, history: Sequence[Turn | str], products: Iterable[str]) -> str:
    """The question to retrieve with, given earlier turns (oldest first)."""
    products = [p for p in products if p]
    turns = [t if isinstance(t, Turn) else Turn(t) for t in history]
    if not turns:
        return question
    last = turns[-1]
    if last.ask_back_options:
        choice = _chosen_option(question, last.ask_back_options)
        if choice:
            return f"{choice} {last.question}"
    if named_products(question, products) or not is_followup(question):
        return question
    for turn in reversed(turns):
        for text in (turn.question, turn.answer):
            named = named_products(text, products)
            if len(named) == 1 or (named and text is turn.question):
                return f"{named[0]} {question}"
    return question
