"""Follow-up questions without an LLM: carry the product and the intent over from earlier turns.

- An elliptic follow-up ("Und in Größe L?", "And the AlpinPro 50?": it starts
  like a continuation, is short and asks nothing by itself) keeps the earlier
  question's intent: it is searched together with that question, and a product
  it names replaces the earlier one.
- Any other follow-up that names no product ("Was kostet es?") gets the most
  recently discussed product put in front of it.
- A reply to an ask-back ("der 50er", "AlpinPro 50") becomes the original
  question plus the chosen product.

    >>> rewrite("Und in Größe L?", ["Wie schwer ist der AlpinPro 35?"], ["AlpinPro 35", "AlpinPro 50"])
    'Wie schwer ist der AlpinPro 35? Und in Größe L?'
    >>> rewrite("Und der AlpinPro 50?", ["Wie schwer ist der AlpinPro 35?"], ["AlpinPro 35", "AlpinPro 50"])
    'Wie schwer ist der AlpinPro 50?'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kb.text import fold, named_products, words

_FOLLOWUP_START = re.compile(
    r"^(und|oder|aber|auch|dann|what about|and|how about|und wie|und was|wie ist es mit|gibt es)\b"
)
_ASKING = {"wie", "was", "welche", "welcher", "welches", "welchen", "wo", "wann", "warum", "wieso",
           "weshalb", "wer", "wieviel", "kann", "koennt", "gibt", "ist", "sind", "hat", "habt",
           "how", "what", "which", "where", "when", "why", "who", "can", "is", "are", "does",
           "do", "has", "have"}
# Words that point back to something said before. Articles count only at the end of the
# question ("Was kostet das?"), where they stand for a noun; "Was kostet der Versand?" is
# complete, and history must not spoil it.
_REFERRING = {"es", "er", "ihn", "ihm", "dessen", "davon", "dazu", "dafur", "damit", "daran",
              "darin", "darauf", "dafuer", "it", "its", "they", "them", "those", "these"}
_REFERRING_AT_END = {"den", "die", "das", "dem", "der", "diesen", "diese", "dieses", "this",
                     "that", "one"}


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: what the customer asked and what Lotse answered."""

    question: str
    answer: str = ""
    ask_back_options: tuple[str, ...] = ()
    advice: dict | None = None  # the advice thread the answer left open (bot.answer.advice)
    suggestions: tuple[dict, ...] = ()  # the topics offered on the "suggest" route


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
    """Does the question lean on the conversation: it continues ("Und …", "What about …"),
    points back ("Was kostet es?", "Is it waterproof?"), or is a fragment ("Preis?")?"""
    ws = [fold(w) for w in words(question)]
    return (bool(_FOLLOWUP_START.match(" ".join(ws))) or len(ws) <= 2
            or any(w in _REFERRING for w in ws) or (bool(ws) and ws[-1] in _REFERRING_AT_END))


def is_elliptic(question: str) -> bool:
    """A continuation that asks nothing by itself: "Und in Größe L?", "And for kids?"."""
    ws = [fold(w) for w in words(question)]
    return bool(_FOLLOWUP_START.match(" ".join(ws))) and len(ws) <= 6 and not set(ws) & _ASKING


def _swap_products(text: str, old: Sequence[str], new: str) -> str:
    for name in old:
        text = re.sub(re.escape(name), new, text, flags=re.IGNORECASE)
    return text


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
    named_now = named_products(question, products)
    if is_elliptic(question):
        named_before = named_products(last.question, products)
        if not named_now:
            return f"{last.question} {question}"
        if named_before and named_now[0] not in named_before:
            return _swap_products(last.question, named_before, named_now[0])
    if named_now or not is_followup(question):
        return question
    for turn in reversed(turns):
        for text in (turn.question, turn.answer):
            named = named_products(text, products)
            if len(named) == 1 or (named and text is turn.question):
                return f"{named[0]} {question}"
    return question
