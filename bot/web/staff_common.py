"""What the staff page's tabs share: who is acting, dates, and ingest reports."""

from __future__ import annotations

import html
import time

import gradio as gr

from bot.chat.staff import Credentials, allows
from bot.web.staff_texts import language_of, say
from ingest.sync import SyncReport

AUDIENCES = [("Kunden · customers (öffentlich · public)", "public"),
             ("Nur Team · team only (intern · internal)", "internal")]


def when(timestamp: float | None) -> str:
    return time.strftime("%d.%m.%Y %H:%M", time.localtime(timestamp)) if timestamp else "–"


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
