"""The staff web UI (Gradio) behind the cookie login: tickets, copilot, KPIs, admin.

German for a German browser, English otherwise (``bot.web.staff_texts``).
Mounted at /staff by ``bot.web.app`` with an auth dependency, so Gradio refuses
every page load and every event without a valid login session. Who is acting
comes from that session on the server (``gr.Request.username``), never from the
page, and admin actions check the role again before they run.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pandas as pd

from bot.chat.admin import AdminService
from bot.chat.faq import FaqLoop
from bot.chat.roles import AGENT, BOT, CLIENT_HISTORY, CUSTOMER, NOTICE
from bot.chat.service import ChatService, ChatServices
from bot.chat.state import Message
from bot.chat.staff import allows
from bot.web.customer_ui import cards_html
from bot.web.knowledge_ui import LIVE, knowledge_tab, retrieval_tab
from bot.web.staff_common import AUDIENCES, Access, Clock, inline_problems, report_markdown
from bot.web.staff_texts import TEXTS, label, language_of, say
from kb.errors import LotseError

# A client's history is on the customer's side: the client sent it, Lotse never said it.
SPEAKERS = {CUSTOMER: "user", BOT: "assistant", AGENT: "assistant", NOTICE: "assistant",
            CLIENT_HISTORY: "user"}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def _reason(language: str, reason: str) -> str:
    return TEXTS[language].get(f"reason.{reason}", reason)


def blocked_note(grounding: dict, language: str = "de", plain: bool = False) -> str:
    """For agents: which generated sentences the citation check held back, and why. With
    ``plain``, for a plain-text view: no Markdown, no HTML, and only the count and the
    sentences."""
    dropped = grounding.get("dropped") or []
    if not dropped:
        return ""
    escape = str if plain else html.escape
    lines = "\n".join(f"- „{escape(d['sentence'])}“: {d['reason']} {escape(d.get('detail', ''))}"
                      for d in dropped)
    head = say(language, "blocked", n=len(dropped))
    if plain:
        return f"\n\n{head.replace('**', '')}\n{lines}"
    fallback = grounding.get("fallback", "")
    after = say(language, f"blocked_{fallback}") if fallback in ("extractive", "handoff") else ""
    return f"\n\n<small>{head}{after}</small>\n{lines}"


def transcript_text(m: Message, language: str) -> str:
    """One message of a ticket's transcript as the agent reads it (plain text): the team's
    and a client's history under their labels, so neither passes for the customer's or
    Lotse's words."""
    if m.role == AGENT:
        return f"{say(language, 'team')}: {m.text}"
    if m.role == CLIENT_HISTORY:
        return f"{say(language, 'client_history')}: {m.text}"
    return m.text + blocked_note(m.answer.get("grounding", {}), language, plain=True)


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:])")


def plain_markdown(text: str) -> str:
    """Customer text inside a Markdown view, shown as written: HTML escaped and every
    Markdown sign backslashed, so no link, image or heading comes out of it."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))


def kpi_views(k: dict, language: str = "de") -> tuple:
    """The KPI numbers as a Markdown table and the three plots' data frames."""
    t = partial(say, language)
    numbers = (
        f"{t('kpi_head')}\n|---|---|---|---|---|---|---|---|\n"
        f"| {k['conversations']} | {_pct(k['deflection_rate'] if k['conversations'] else None)}"
        f" | {_pct(k['handoff_rate'] if k['conversations'] else None)} | {_pct(k['csat'])}"
        f" ({k['ratings']} {t('ratings')}) | {_pct(k['first_contact_resolution'])}"
        f" ({k['tickets_closed']} {t('closed_count')}) | {k['latency_p50_ms']:.0f} / "
        f"{k['latency_p95_ms']:.0f} ms | {k['hallucinations_blocked']} "
        f"({t('in_generated', n=k['generated_answers'])}) | {k['answered_from_team_faq']} |"
        f"\n\n{t('advice_head')}\n|---|---|---|\n| {k['advice_conversations']} | "
        f"{k['recommendations_shown']} | {k['advice_ended_with_person']} "
        f"({_pct(k['advice_handoff_rate'])}) |")
    mail = k["email"]
    if mail["received"]:
        numbers += (f"\n\n{t('email_head')}\n|---|---|---|---|---|---|\n| {mail['received']} | "
                    f"{mail['answered']} | {mail['handed_off']} | {mail['forwarded']} | "
                    f"{sum(mail['ignored'].values())} | {mail['reply_p50_ms']:.0f} / "
                    f"{mail['reply_p95_ms']:.0f} ms |")
    reason, handoffs = t("col_reason"), t("col_handoffs")
    day, series, count = t("col_day"), t("col_series"), t("col_count")
    question, examples = t("col_question"), t("col_examples")
    reasons = pd.DataFrame([{reason: _reason(language, str(r)), handoffs: n}
                            for r, n in k["handoffs_by_reason"].items()],
                           columns=[reason, handoffs])
    # Stacked: the bar's full height is the day's conversations.
    daily = pd.DataFrame([{day: d["day"], series: name, count: n}
                          for d in k["daily"] for name, n in
                          ((t("series_bot"), d["conversations"] - d["handoffs"]),
                           (t("series_human"), d["handoffs"]))],
                         columns=[day, series, count])
    gaps = pd.DataFrame([{question: g["question"][:60], count: g["count"],
                          examples: " | ".join(g["examples"])} for g in k["content_gaps"]],
                        columns=[question, count, examples])
    # Explicit zero-based axes: with one bar, an automatic axis collapses onto its height.
    return (numbers,
            gr.update(value=reasons, x=reason, y=handoffs,
                      y_lim=[0, max([1, *k["handoffs_by_reason"].values()])]),
            gr.update(value=daily, x=day, y=count, color=series,
                      y_lim=[0, max([1, *(d["conversations"] for d in k["daily"])])]),
            gr.update(value=gaps[[question, count]], x=question, y=count,
                      y_lim=[0, max([1, *gaps[count]])]),
            gaps)


class TicketDesk:
    """The tickets tab's handlers: the agent's queue, one ticket's transcript, sources and
    draft, and what an agent does with it. Refusals (no ticket chosen, an empty reply, a
    closed ticket) appear in the tab's status line, in the agent's language."""

    def __init__(self, chat: ChatService, faq: FaqLoop, who: Access, clock: Clock) -> None:
        self.chat, self.faq, self.who, self.when = chat, faq, who, clock

    def queue_choices(self, language: str) -> list[tuple[str, str]]:
        choices = []
        for t in self.chat.queue():
            unread = self.chat.unread(t.id)
            new = say(language, "new", n=unread) if unread else ""
            question = t.question[:50] or say(language, "no_question")
            choices.append((f"{new}{t.number} · {_reason(language, t.reason)} · "
                            f"{say(language, 'status.' + t.status)} · {question}", str(t.id)))
        return choices

    def refresh_queue(self, selected: str | None, request: gr.Request):
        self.who(request)
        choices = self.queue_choices(language_of(request))
        keep = selected if selected in {v for _, v in choices} else None
        return gr.update(choices=choices, value=keep)

    def show_ticket(self, selected: str | None, request: gr.Request, acknowledge: bool = True):
        """The ticket's head, transcript, sources and draft. Choosing the ticket (not the
        timer's refresh) counts as having read its messages."""
        self.who(request)
        language = language_of(request)
        if not selected:
            return say(language, "pick_ticket"), [], "", ""
        ticket, transcript = self.chat.ticket_detail(int(selected))
        if acknowledge:
            self.chat.seen(ticket.id, transcript)
        head = say(language, "head", number=ticket.number,
                   status=say(language, "status." + ticket.status),
                   reason=_reason(language, ticket.reason),
                   question=plain_markdown(ticket.question) or "–",
                   assignee=ticket.assignee or "–", opened=self.when(ticket.created_at))
        # The transcript is shown as plain text (render_markdown=False): what a customer
        # wrote must not become a link, an image that calls /logout, or a form.
        # Gradio's Chatbot still lets some HTML through without Markdown: escape it all.
        messages = [{"role": SPEAKERS.get(m.role, "assistant"),
                     "content": html.escape(transcript_text(m, language))} for m in transcript]
        sources = (cards_html(ticket.sources, say(language, "found_sources"))
                   or say(language, "no_sources"))
        return head, messages, sources, ticket.draft

    def live(self, selected: str | None, request: gr.Request):
        """The timer's look at the open ticket: new customer messages appear without a
        reload (the draft being edited is left alone). They stay unread until the agent
        chooses the ticket again, so closing still asks."""
        self.who(request)
        if not selected:
            return gr.skip(), gr.skip(), gr.skip()
        return self.show_ticket(selected, request, acknowledge=False)[:3]

    @staticmethod
    def chosen(selected: str | None, request: gr.Request) -> int:
        if not selected:
            raise gr.Error(say(language_of(request), "choose_first"))
        return int(selected)

    @inline_problems(4, at=3)
    def take(self, selected: str | None, request: gr.Request):
        name = self.who(request)
        ticket = self.chat.take(self.chosen(selected, request), name)
        return (*self.show_ticket(selected, request)[:3],
                say(language_of(request), "taken_by", number=ticket.number, name=name))

    @inline_problems(5, at=4)
    def send(self, selected: str | None, text: str, request: gr.Request):
        name = self.who(request)
        language = language_of(request)
        ticket_id = self.chosen(selected, request)
        if not (text or "").strip():
            raise gr.Error(say(language, "empty_reply"))
        sent = self.chat.agent_reply(ticket_id, name, text.strip())
        head, messages, sources, _ = self.show_ticket(selected, request)
        note = say(language, "sent")
        if sent.mail_error:
            note += say(language, "mail_failed", to=sent.emailed_to,
                        error=plain_markdown(sent.mail_error))
        elif sent.emailed_to:
            note += say(language, "mailed", to=sent.emailed_to)
        return head, messages, sources, "", note

    @inline_problems(1)
    def propose(self, selected: str | None, request: gr.Request) -> str:
        name = self.who(request)
        proposal = self.faq.propose(self.chosen(selected, request), name)
        return say(language_of(request), "proposed", id=proposal.id,
                   question=plain_markdown(proposal.question))

    def closer(self, resolved: bool):
        """Closing asks first while customer messages came in since the agent last looked:
        the second click closes."""

        @inline_problems(7, at=5)
        def close(selected: str | None, confirmed: str | None, request: gr.Request):
            name = self.who(request)
            language = language_of(request)
            ticket_id = self.chosen(selected, request)
            unread = self.chat.unread(ticket_id)
            if unread and confirmed != selected:
                return (gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                        say(language, "unread_close", n=unread), selected)
            ticket = self.chat.close_ticket(ticket_id, resolved, by=name)
            note = say(language, "closed", number=ticket.number,
                       how=say(language, "resolved" if resolved else "unresolved"))
            return (gr.update(choices=self.queue_choices(language), value=None),
                    say(language, "pick_ticket"), [], "", "", note, None)
        return close


def _ticket_layout() -> SimpleNamespace:
    """The queue on the left; the chosen ticket, its draft and the actions on the right."""
    with gr.Row():
        with gr.Column(scale=1):
            queue = gr.Radio(label=label("queue"), choices=[], elem_id="queue")
            refresh = gr.Button(label("refresh"), size="sm")
        with gr.Column(scale=2):
            head = gr.Markdown(label("pick_ticket"), elem_id="ticket-head")
            transcript = gr.Chatbot(label=label("transcript"), height=320, elem_id="transcript",
                                    render_markdown=False, sanitize_html=True, buttons=[],
                                    feedback_options=None)
            sources = gr.Markdown(elem_id="ticket-sources")
            draft = gr.Textbox(label=label("draft"), lines=5, elem_id="draft")
            with gr.Row():
                take = gr.Button(label("take"), elem_id="take")
                send = gr.Button(label("send_reply"), variant="primary", elem_id="send-reply")
                propose = gr.Button(label("propose_faq"), elem_id="propose-faq")
            with gr.Row():
                solved = gr.Button(label("close_resolved"), elem_id="close-resolved")
                unsolved = gr.Button(label("close_unresolved"), elem_id="close-unresolved")
            status = gr.Markdown(elem_id="ticket-status", elem_classes=LIVE)
    return SimpleNamespace(queue=queue, refresh=refresh, head=head, transcript=transcript,
                           sources=sources, draft=draft, take=take, send=send, propose=propose,
                           solved=solved, unsolved=unsolved, status=status)


def tickets_tab(chat: ChatService, faq: FaqLoop, who: Access,
                clock: Clock) -> tuple[gr.Radio, Callable[[str], list]]:
    """The agent's queue, a ticket's transcript, sources and draft, and the ticket actions.
    Returns the queue and its choices, with which the page fills it on load."""
    desk = TicketDesk(chat, faq, who, clock)
    with gr.Tab(label("tab_tickets"), id="tickets"):
        ui = _ticket_layout()
        # The ticket whose close was asked for once despite unread customer messages.
        confirm = gr.State(None)
        poll = gr.Timer(5.0)
    shown = [ui.head, ui.transcript, ui.sources]
    ui.refresh.click(desk.refresh_queue, [ui.queue], [ui.queue])
    poll.tick(desk.refresh_queue, [ui.queue], [ui.queue])
    poll.tick(desk.live, [ui.queue], shown)
    ui.queue.input(desk.show_ticket, [ui.queue], [*shown, ui.draft])
    ui.take.click(desk.take, [ui.queue], [*shown, ui.status])
    ui.send.click(desk.send, [ui.queue, ui.draft], [*shown, ui.draft, ui.status])
    ui.propose.click(desk.propose, [ui.queue], [ui.status])
    closed = [ui.queue, *shown, ui.draft, ui.status, confirm]
    ui.solved.click(desk.closer(True), [ui.queue, confirm], closed)
    ui.unsolved.click(desk.closer(False), [ui.queue, confirm], closed)
    return ui.queue, desk.queue_choices


def copilot_tab(chat: ChatService, who: Access) -> None:
    """An agent's own question, answered from public and internal documents."""

    @inline_problems(1)
    def copilot(question: str, request: gr.Request) -> str:
        who(request)
        language = language_of(request)
        answer = chat.copilot(question or "")
        if not answer.citations:
            return say(language, "nothing_found") + blocked_note(answer.grounding, language)
        cards = cards_html([{**c.to_dict(), "audience": c.audience} for c in answer.citations],
                           say(language, "sources"))
        flag = say(language, "unsure") if answer.confidence < chat.handoff_below else ""
        return (f"{answer.text}{cards}\n\n<small>{say(language, 'certainty')} "
                f"{answer.confidence:.2f}{flag}</small>" + blocked_note(answer.grounding, language))

    with gr.Tab(label("tab_copilot"), id="copilot"):
        question = gr.Textbox(label=label("copilot_question"), elem_id="copilot-question")
        ask = gr.Button(label("ask"), variant="primary", elem_id="copilot-ask")
        answer = gr.Markdown(elem_id="copilot-answer", elem_classes=LIVE)
    for trigger in (ask.click, question.submit):
        trigger(copilot, [question], [answer])


def kpis_tab(chat: ChatService, who: Access) -> gr.Dataframe:
    """Deflection, handoffs, CSAT, FCR, latency and content gaps, refreshed on demand."""

    def show_kpis(request: gr.Request):
        who(request)
        return kpi_views(chat.kpis(), language_of(request))

    with gr.Tab(label("tab_kpis"), id="kpis") as tab:
        kpi_refresh = gr.Button(label("refresh"), size="sm", elem_id="kpi-refresh")
        numbers = gr.Markdown(elem_id="kpi-numbers")
        with gr.Row():
            reasons_plot = gr.BarPlot(x="x", y="y", title=label("plot_reasons"),
                                      elem_id="plot-reasons")
            daily_plot = gr.BarPlot(x="x", y="y", title=label("plot_daily"), elem_id="plot-daily")
        gaps_plot = gr.BarPlot(x="x", y="y", title=label("plot_gaps"), elem_id="plot-gaps")
        gaps_table = gr.Dataframe(label=label("gaps_table"), elem_id="gaps",
                                  interactive=False, wrap=True)
    outputs = [numbers, reasons_plot, daily_plot, gaps_plot, gaps_table]
    tab.select(show_kpis, None, outputs)
    kpi_refresh.click(show_kpis, None, outputs)
    return gaps_table


def faq_section(faq: FaqLoop, who: Access, stats_markdown: Callable[[str], str],
                stats: gr.Markdown) -> tuple[gr.Radio, Callable[[str], list]]:
    """FAQ proposals from agents' replies: pick one, edit question and answer, approve (the
    FAQ file is written and ingested) or reject. Inside the admin tab."""

    def choices(language: str) -> list[tuple[str, str]]:
        return [(say(language, "faq_item", id=p.id, by=p.proposed_by, question=p.question[:60]),
                 str(p.id)) for p in faq.pending()]

    def listing(request: gr.Request):
        who(request, "admin")
        return gr.update(choices=choices(language_of(request)), value=None), "", "", ""

    def pick(selected: str | None, request: gr.Request):
        who(request, "admin")
        found = [p for p in faq.pending() if str(p.id) == selected]
        return (found[0].question, found[0].answer) if found else ("", "")

    def decide(approve: bool):
        @inline_problems(5, at=3)
        def run(selected: str | None, question: str, answer: str, request: gr.Request):
            name = who(request, "admin")
            language = language_of(request)
            if not selected:
                raise gr.Error(say(language, "faq_pick"))
            if approve:
                done = faq.approve(int(selected), name, question, answer)
                note = (say(language, "faq_approved", id=selected)
                        + report_markdown(done.report, language))
            else:
                faq.reject(int(selected), name)
                note = say(language, "faq_rejected", id=selected)
            return (gr.update(choices=choices(language), value=None), "", "", note,
                    stats_markdown(language))
        return run

    gr.Markdown(label("faq_heading"))
    with gr.Row():
        proposals = gr.Radio(label=label("faq_open"), choices=[], elem_id="faq-proposals")
        refresh = gr.Button(label("refresh"), size="sm", scale=0)
    question = gr.Textbox(label=label("faq_question"), elem_id="faq-question")
    answer = gr.Textbox(label=label("faq_answer"), lines=4, elem_id="faq-answer")
    with gr.Row():
        approve_btn = gr.Button(label("faq_approve"), variant="primary", elem_id="faq-approve")
        reject_btn = gr.Button(label("faq_reject"), elem_id="faq-reject")
    result = gr.Markdown(elem_id="faq-result", elem_classes=LIVE)
    refresh.click(listing, None, [proposals, question, answer, result])
    proposals.input(pick, [proposals], [question, answer])
    outputs = [proposals, question, answer, result, stats]
    approve_btn.click(decide(True), [proposals, question, answer], outputs)
    reject_btn.click(decide(False), [proposals, question, answer], outputs)
    return proposals, choices


def admin_tab(admin: AdminService, faq: FaqLoop, who: Access,
              clock: Clock) -> tuple[gr.Tab, gr.Markdown, Callable[[str], str]]:
    """Uploads, re-ingest with progress, store statistics, FAQ proposals. Hidden unless the
    user is an admin. Returns the tab, the statistics view and the function that renders it."""

    def stats_markdown(language: str) -> str:
        s = admin.stats()
        uploads = admin.uploads()
        return say(language, "stats", documents=s.documents, chunks=s.chunks,
                   generation=s.generation or "–", when=clock(s.published_at),
                   embedder=s.embedder, n=len(uploads),
                   uploads=", ".join(f"`{html.escape(u)}`" for u in uploads) or "–")

    def show_stats(request: gr.Request):
        who(request, "admin")
        language = language_of(request)
        return stats_markdown(language), gr.update(choices=proposal_choices(language))

    def tick_stats(request: gr.Request):
        """The timer runs on every staff page; only an admin's page gets the numbers."""
        who(request)
        if not allows(who.role(request), "admin"):
            return gr.update()
        return stats_markdown(language_of(request))

    def upload(files: list[str] | None, audience: str, request: gr.Request):
        who(request, "admin")
        language = language_of(request)
        lines = []
        for upload in files or []:
            path = Path(upload if isinstance(upload, str) else upload.name)
            try:
                saved = admin.save_upload(path.name, path, audience)
                lines.append(say(language, "saved", name=html.escape(saved.name)))
            except LotseError as exc:
                lines.append(say(language, "refused", reason=html.escape(str(exc))))
        return "\n".join(lines), None, stats_markdown(language)

    @inline_problems(2)
    def run_ingest(folders: list[str], extra: str, request: gr.Request,
                   progress=gr.Progress()):
        who(request, "admin")
        language = language_of(request)
        paths = list(folders or []) + ([extra.strip()] if (extra or "").strip() else [])
        if not paths:
            raise gr.Error(say(language, "pick_folder"))

        def step(stage: str, done: int, total: int) -> None:
            key = f"stage.{stage}"
            progress((done, total), desc=say(language, key) if stage in ("load", "embed")
                     else stage)

        report = admin.ingest(paths, progress=step)
        return report_markdown(report, language), stats_markdown(language)

    with gr.Tab(label("tab_admin"), id="admin", visible=False) as tab:
        stats = gr.Markdown(elem_id="store-stats")
        with gr.Row():
            with gr.Column():
                # Choice labels stay as written (Gradio would send a translated label back
                # as the value), so they carry both languages.
                audience = gr.Radio(AUDIENCES, value="public", label=label("audience"))
                files = gr.File(label=label("upload"), file_count="multiple",
                                file_types=admin.accepted_suffixes, elem_id="upload")
                uploaded = gr.Markdown(elem_id="upload-result", elem_classes=LIVE)
            with gr.Column():
                roots = [(str(admin.upload_dir), str(admin.upload_dir))]
                roots += [(str(r), str(r)) for r in admin.ingest_roots]
                folders = gr.CheckboxGroup(roots, value=[v for _, v in roots],
                                           label=label("reingest"), elem_id="folders")
                extra = gr.Textbox(label=label("subfolder"), elem_id="folder")
                ingest_btn = gr.Button(label("reingest"), variant="primary", elem_id="ingest")
        report = gr.Markdown(elem_id="ingest-report", elem_classes=LIVE)
        stats_poll = gr.Timer(15.0)
        proposals, proposal_choices = faq_section(faq, who, stats_markdown, stats)
    tab.select(show_stats, None, [stats, proposals])
    stats_poll.tick(tick_stats, None, [stats])
    files.upload(upload, [files, audience], [uploaded, files, stats])
    ingest_btn.click(run_ingest, [folders, extra], [report, stats])
    return tab, stats, stats_markdown


def build_staff_ui(services: ChatServices) -> gr.Blocks:
    """The staff page: one function per tab; the header and the load event here."""
    who = Access(services.credentials)
    clock = Clock(services.admin.engine.settings.hours.timezone)
    # No usage data leaves the server (Gradio's default would send it, and check its version).
    with gr.Blocks(title="Lotse – Team", analytics_enabled=False) as ui:
        with gr.Row(equal_height=True):
            gr.Markdown(label("title"), elem_id="page-title")
            whoami = gr.Markdown(elem_id="whoami")
            gr.Button(label("logout"), link="/logout", elem_id="logout", scale=0, size="sm")
        with gr.Tabs() as tabs:
            queue, queue_choices = tickets_tab(services.chat, services.faq, who, clock)
            copilot_tab(services.chat, who)
            gaps = kpis_tab(services.chat, who)
            _probe, probe_question, probe_result = retrieval_tab(services, who)
            knowledge = knowledge_tab(services, who, clock)
            admin, stats, stats_markdown = admin_tab(services.admin, services.faq, who, clock)

        def gap_to_probe(frame: pd.DataFrame, event: gr.SelectData, request: gr.Request):
            """A content gap opens the retrieval test with its question."""
            who(request)
            question = str(frame.iloc[event.index[0], 0]) if len(frame) else ""
            return question, "", gr.Tabs(selected="probe")

        gaps.select(gap_to_probe, [gaps], [probe_question, probe_result, tabs])

        def on_load(request: gr.Request):
            name = who(request)
            role = who.role(request)
            language = language_of(request)
            is_admin = allows(role, "admin")
            return (say(language, "whoami", name=html.escape(name), role=role),
                    gr.update(visible=is_admin), gr.update(visible=is_admin),
                    gr.update(choices=queue_choices(language)),
                    stats_markdown(language) if is_admin else "")

        ui.load(on_load, None, [whoami, admin, knowledge, queue, stats])
    ui.queue(max_size=32, default_concurrency_limit=2)
    return ui
