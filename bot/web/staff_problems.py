"""A refusal as the staff read it: one note in the page's language, shown where they look.

The services raise errors by kind (``kb.errors``) with an English message meant for
logs and the REST API. The staff page words the refusals it knows in German or English
(a web address the server will not read) and leads every other one with what kind of
refusal it is; the service's own words follow as a technical detail.
"""

from __future__ import annotations

import html

import gradio as gr

from bot.chat.admin import WebAddressProblem
from bot.web.staff_texts import say
from kb.errors import Forbidden, InvalidInput, LotseError, NotFound, Throttled, TooLarge

# Most specific first: a missing ticket is NotFound and InvalidInput.
_KINDS: list[tuple[type[LotseError], str]] = [
    (Throttled, "throttled"), (NotFound, "not_found"), (Forbidden, "forbidden"),
    (TooLarge, "too_large"), (InvalidInput, "invalid")]


def _code(text: str) -> str:
    return html.escape(text).replace("|", "\\|")


def problem_text(exc: BaseException, language: str) -> str:
    """What went wrong, in ``language``, as one Markdown sentence or two."""
    if isinstance(exc, gr.Error):  # the page's own refusals are worded already
        return str(exc.message)
    if isinstance(exc, WebAddressProblem):
        return say(language, f"web_{exc.why}", host=_code(exc.host or "–"),
                   hosts=", ".join(_code(h) for h in exc.hosts) or "–")
    kind = next((name for cls, name in _KINDS if isinstance(exc, cls)), "other")
    return say(language, f"problem_{kind}", detail=_code(str(exc)[:300]))


def problem_note(exc: BaseException, language: str) -> str:
    """The note an output shows instead of its result: marked as a problem for the eye and
    for screen readers (the note's box is a live region, ``page_style``)."""
    return say(language, "problem", text=problem_text(exc, language))
