"""What the staff page's tabs share: who is acting, the clock, inline notes, ingest reports."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import gradio as gr

from bot.chat.staff import Credentials, allows
from bot.web.staff_problems import problem_note
from bot.web.staff_texts import language_of, say
from ingest.sync import SyncReport
from kb.errors import LotseError

AUDIENCES = [("Kunden · customers (öffentlich · public)", "public"),
             ("Nur Team · team only (intern · internal)", "internal")]


class Clock:
    """Times as the staff read them: in the business time zone (``hours.timezone``) with the
    zone's short name, whatever zone the server itself runs in (often UTC).

        >>> Clock("Europe/Berlin")(1765000000.0)
        '06.12.2025 06:46 CET'
    """

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)

    def __call__(self, timestamp: float | None) -> str:
        if not timestamp:
            return "–"
        local = datetime.fromtimestamp(timestamp, self.zone)
        return f"{local:%d.%m.%Y %H:%M} {local.tzname()}"


def report_markdown(report: SyncReport, language: str = "de") -> str:
    """The end-of-ingest summary for the admin: counts, then every failure with its reason."""
    numbers = {"embedded": report.chunks_embedded, "total": report.chunks_total,
               "generation": report.generation, "seconds": report.seconds}
    lines = [say(language, "report", **report.counts()),
             say(language, "report_published" if report.published else "report_nothing",
                 **numbers)]
    for key, items in (("report_failed", report.failed), ("report_skipped", report.skipped),
                       ("report_warning", report.warnings)):
        lines += [say(language, key, file=html.escape(f), reason=html.escape(r))
                  for f, r in items]
    return "\n".join(lines)


def inline_problems(outputs: int, at: int = 0) -> Callable:
    """A handler whose refusals stay on the page where the staff member looks: a
    ``gr.Error`` or a ``LotseError`` raised while it runs becomes one note in the UI's
    language in output ``at``, and the other outputs keep what they show. (Raised out of
    the handler, Gradio would mark every output as failed and flash the message as a
    pop-up.) The wrapper keeps the handler's signature, so Gradio still hands it the
    request and a progress tracker."""

    def wrap(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def run(*args: Any, **kwargs: Any):
            try:
                return handler(*args, **kwargs)
            except (gr.Error, LotseError) as exc:
                request = next((a for a in (*args, *kwargs.values())
                                if isinstance(a, gr.Request)), None)
                note = problem_note(exc, language_of(request))
                if outputs == 1:
                    return note
                return tuple(note if i == at else gr.skip() for i in range(outputs))
        return run
    return wrap


class Access:
    """Who is acting, from the server-side login session (``gr.Request.username``)."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def role(self, request: gr.Request) -> str:
        """The account's role as it is now: a removed account has none."""
        return self.credentials.accounts.role_of(request.username) or ""

    def __call__(self, request: gr.Request, needed: str = "agent") -> str:
        """The staff member's name, or a ``gr.Error`` when the role is too low."""
        role = self.role(request)
        if not allows(role, needed):
            raise gr.Error(say(language_of(request), "no_right" if role else "login_again"))
        return request.username or ""
