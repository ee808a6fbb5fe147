"""The staff web UI (Gradio, German) behind the cookie login: tickets, copilot, KPIs, admin.

Mounted at /staff by ``bot.web.app`` with an auth dependency, so Gradio refuses
every page load and every event without a valid login session. Who is acting
comes from that session on the server (``gr.Request.username``), never from the
page, and admin actions check the role again before they run.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import pandas as pd

from bot.chat.admin import AdminService
from bot.chat.faq import FaqLoop
from bot.chat.service import ChatService, ChatServices
from bot.chat.staff import Credentials, allows
from bot.web.customer_ui import cards_html
from ingest.sync import SyncReport
from kb.errors import LotseError

REASONS = {
    "asked_for_human": "möchte einen Menschen",
    "negative_sentiment": "verärgert",
    "low_confidence": "unsichere Antwort",
    "no_sources": "keine Quelle",
    "policy": "nicht beantwortbar",
}
STATUS = {"open": "offen", "taken": "in Bearbeitung", "closed": "geschlossen"}
SPEAKERS = {"customer": "user", "bot": "assistant", "agent": "assistant", "notice": "assistant"}


def _when(timestamp: float | None) -> str:
    return time.strftime("%d.%m.%Y %H:%M", time.localtime(timestamp)) if timestamp else "–"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def blocked_note(grounding: dict) -> str:
    """For agents: which generated sentences the citation check held back, and why."""
    dropped = grounding.get("dropped") or []
    if not dropped:
        return ""
    lines = [f"- „{html.escape(d['sentence'])}“: {d['reason']} {html.escape(d.get('detail', ''))}"
             for d in dropped]
    fallback = {"extractive": " Antwort aus den Quellen zitiert.",
                "handoff": " An das Team übergeben."}.get(grounding.get("fallback", ""), "")
    return (f"\n\n<small>**Zitatprüfung:** {len(dropped)} erzeugte(r) Satz/Sätze verworfen."
            f"{fallback}</small>\n" + "\n".join(lines))


def report_markdown(report: SyncReport) -> str:
    """The end-of-ingest summary for the admin: counts, then every failure with its reason."""
    c = report.counts()
    lines = [f"**Neu** {c['added']} · **Aktualisiert** {c['updated']} · **Entfernt** {c['removed']}"
             f" · **Unverändert** {c['unchanged']} · **Fehlgeschlagen** {c['failed']}",
             f"{report.chunks_embedded} Abschnitte eingebettet, {report.chunks_total} im Index, "
             + (f"Generation `{report.generation}` veröffentlicht" if report.published
                else "nichts zu veröffentlichen") + f" ({report.seconds:.1f} s)."]
    lines += [f"- **fehlgeschlagen** `{html.escape(f)}`: {html.escape(r)}" for f, r in report.failed]
    lines += [f"- übersprungen `{html.escape(f)}`: {html.escape(r)}" for f, r in report.skipped]
    lines += [f"- Hinweis `{html.escape(f)}`: {html.escape(m)}" for f, m in report.warnings]
    return "\n".join(lines)


class Access:
    """Who is acting, from the server-side login session (``gr.Request.username``)."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def role(self, request: gr.Request) -> str:
        return self.credentials.users.get(request.username or "", ("", ""))[0]

    def __call__(self, request: gr.Request, needed: str = "agent") -> str:
        """The staff member's name, or a ``gr.Error`` when the role is too low."""
        role = self.role(request)
        if not allows(role, needed):
            raise gr.Error("Dafür fehlt die Berechtigung." if role else "Bitte neu anmelden.")
        return request.username or ""


def kpi_views(k: dict) -> tuple:
    """The KPI numbers as a Markdown table and the three plots' data frames."""
    numbers = (
        "| Gespräche | Deflection | Übergaben | CSAT | Erstlösung | Latenz p50 / p95 |"
        " Halluzinationen geblockt | aus Team-FAQ beantwortet |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| {k['conversations']} | {_pct(k['deflection_rate'] if k['conversations'] else None)}"
        f" | {_pct(k['handoff_rate'] if k['conversations'] else None)} | {_pct(k['csat'])}"
        f" ({k['ratings']} Bewertungen) | {_pct(k['first_contact_resolution'])}"
        f" ({k['tickets_closed']} geschlossen) | {k['latency_p50_ms']:.0f} / "
        f"{k['latency_p95_ms']:.0f} ms | {k['hallucinations_blocked']} "
        f"(in {k['generated_answers']} erzeugten Antworten) | {k['answered_from_team_faq']} |")
    reasons = pd.DataFrame([{"Grund": REASONS.get(r, str(r)), "Übergaben": n}
                            for r, n in k["handoffs_by_reason"].items()],
                           columns=["Grund", "Übergaben"])
    # Stacked: the bar's full height is the day's conversations.
    daily = pd.DataFrame([{"Tag": d["day"], "Reihe": series, "Anzahl": n}
                          for d in k["daily"] for series, n in
                          (("vom Bot gelöst", d["conversations"] - d["handoffs"]),
                           ("an Menschen übergeben", d["handoffs"]))],
                         columns=["Tag", "Reihe", "Anzahl"])
    gaps = pd.DataFrame([{"Frage": g["question"][:60], "Anzahl": g["count"],
                          "Beispiele": " | ".join(g["examples"])} for g in k["content_gaps"]],
                        columns=["Frage", "Anzahl", "Beispiele"])
    # Explicit zero-based axes: with one bar, an automatic axis collapses onto its height.
    return (numbers,
            gr.update(value=reasons, y_lim=[0, max([1, *k["handoffs_by_reason"].values()])]),
            gr.update(value=daily,
                      y_lim=[0, max([1, *(d["conversations"] for d in k["daily"])])]),
            gr.update(value=gaps[["Frage", "Anzahl"]], y_lim=[0, max([1, *gaps["Anzahl"]])]),
            gaps)


def tickets_tab(chat: ChatService, faq: FaqLoop, who: Access) -> tuple[gr.Radio, Callable[[], list]]:
    """The agent's queue, a ticket's transcript, sources and draft, and the ticket actions.
    Returns the queue and its choices, with which the page fills it on load."""

    def queue_choices() -> list[tuple[str, str]]:
        choices = []
        for t in chat.queue():
            unread = chat.unread(t.id)
            new = f"● {unread} neu · " if unread else ""
            choices.append((f"{new}{t.number} · {REASONS.get(t.reason, t.reason)} · "
                            f"{STATUS[t.status]} · {t.question[:50] or '(ohne Frage)'}", str(t.id)))
        return choices

    def refresh_queue(selected: str | None, request: gr.Request):
        who(request)
        choices = queue_choices()
        keep = selected if selected in {v for _, v in choices} else None
        return gr.update(choices=choices, value=keep)

    def show_ticket(selected: str | None, request: gr.Request, acknowledge: bool = True):
        """The ticket's head, transcript, sources and draft. Choosing the ticket (not the
        timer's refresh) counts as having read its messages."""
        who(request)
        if not selected:
            return "Wähle links ein Ticket.", [], "", ""
        ticket, transcript = chat.ticket_detail(int(selected))
        if acknowledge:
            chat.seen(ticket.id, transcript)
        head = (f"### {ticket.number} · {STATUS[ticket.status]}\n"
                f"**Grund:** {REASONS.get(ticket.reason, ticket.reason)}  \n"
                f"**Frage:** {html.escape(ticket.question) or '–'}  \n"
                f"**Bearbeitet von:** {ticket.assignee or '–'} · **eröffnet** {_when(ticket.created_at)}")
        messages = [{"role": SPEAKERS.get(m.role, "assistant"),
                     "content": f"**Serviceteam:** {m.text}" if m.role == "agent"
                     else m.text + blocked_note(m.answer.get("grounding", {}))}
                    for m in transcript]
        sources = cards_html(ticket.sources, "Gefundene Quellen") or "_Keine Quellen gefunden._"
        return head, messages, sources, ticket.draft

    def chosen(selected: str | None) -> int:
        if not selected:
            raise gr.Error("Erst ein Ticket wählen.")
        return int(selected)

    def take(selected: str | None, request: gr.Request):
        name = who(request)
        ticket = chat.take(chosen(selected), name)
        return (*show_ticket(selected, request)[:3], f"{ticket.number} gehört jetzt {name}.")

    def send(selected: str | None, text: str, request: gr.Request):
        name = who(request)
        ticket_id = chosen(selected)
        if not (text or "").strip():
            raise gr.Error("Die Antwort ist leer.")
        sent = chat.agent_reply(ticket_id, name, text.strip())
        head, messages, sources, _ = show_ticket(selected, request)
        note = "Antwort gesendet; der Kunde sieht sie im Chat."
        if sent.mail_error:
            note += (f" **Die E-Mail an {sent.emailed_to} ging nicht raus** ({sent.mail_error}); "
                     "bitte später erneut senden oder anders Kontakt aufnehmen.")
        elif sent.emailed_to:
            note += f" Per E-Mail an {sent.emailed_to} geschickt."
        return head, messages, sources, "", note

    def propose(selected: str | None, request: gr.Request) -> str:
        name = who(request)
        try:
            proposal = faq.propose(chosen(selected), name)
        except LotseError as exc:
            raise gr.Error(str(exc)) from exc
        return (f"Als FAQ vorgeschlagen (Nr. {proposal.id}): „{html.escape(proposal.question)}“. "
                "Eine Admin prüft und gibt frei.")

    def live(selected: str | None, request: gr.Request):
        """The timer's look at the open ticket: new customer messages appear without a
        reload (the draft being edited is left alone). They stay unread until the agent
        chooses the ticket again, so closing still asks."""
        who(request)
        if not selected:
            return gr.skip(), gr.skip(), gr.skip()
        return show_ticket(selected, request, acknowledge=False)[:3]

    def closer(resolved: bool):
        def close(selected: str | None, confirmed: str | None, request: gr.Request):
            who(request)
            ticket_id = chosen(selected)
            unread = chat.unread(ticket_id)
            if unread and confirmed != selected:  # the second click closes
                return (gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                        f"**{unread} neue Kundennachricht(en)**, seit du das Ticket geöffnet "
                        "hast. Bitte lesen; ein zweiter Klick schließt es trotzdem.", selected)
            ticket = chat.close_ticket(ticket_id, resolved)
            note = f"{ticket.number} geschlossen ({'gelöst' if resolved else 'nicht gelöst'})."
            return (gr.update(choices=queue_choices(), value=None), "Wähle links ein Ticket.", [],
                    "", "", note, None)
        return close

    with gr.Tab("Tickets", id="tickets"):
        with gr.Row():
            with gr.Column(scale=1):
                queue = gr.Radio(label="Warteschlange (offen und in Bearbeitung)", choices=[],
                                 elem_id="queue")
                refresh = gr.Button("Aktualisieren", size="sm")
            with gr.Column(scale=2):
                head = gr.Markdown("Wähle links ein Ticket.", elem_id="ticket-head")
                transcript = gr.Chatbot(label="Gesprächsverlauf (ungeschwärzt, solange offen)",
                                        height=320, elem_id="transcript")
                sources = gr.Markdown(elem_id="ticket-sources")
                draft = gr.Textbox(label="Antwort an den Kunden (Entwurf mit Quellen, "
                                   "bearbeitbar)", lines=5, elem_id="draft")
                with gr.Row():
                    take_btn = gr.Button("Übernehmen", elem_id="take")
                    send_btn = gr.Button("Antwort senden", variant="primary", elem_id="send-reply")
                    faq_btn = gr.Button("Als FAQ vorschlagen", elem_id="propose-faq")
                with gr.Row():
                    solved_btn = gr.Button("Schließen: gelöst", elem_id="close-resolved")
                    unsolved_btn = gr.Button("Schließen: nicht gelöst", elem_id="close-unresolved")
                status = gr.Markdown(elem_id="ticket-status")
        # The ticket whose close was asked for once despite unread customer messages.
        confirm = gr.State(None)
        poll = gr.Timer(5.0)
    refresh.click(refresh_queue, [queue], [queue])
    poll.tick(refresh_queue, [queue], [queue])
    poll.tick(live, [queue], [head, transcript, sources])
    queue.input(show_ticket, [queue], [head, transcript, sources, draft])
    take_btn.click(take, [queue], [head, transcript, sources, status])
    send_btn.click(send, [queue, draft], [head, transcript, sources, draft, status])
    faq_btn.click(propose, [queue], [status])
    closed = [queue, head, transcript, sources, draft, status, confirm]
    solved_btn.click(closer(True), [queue, confirm], closed)
    unsolved_btn.click(closer(False), [queue, confirm], closed)
    return queue, queue_choices


def copilot_tab(chat: ChatService, who: Access) -> None:
    """An agent's own question, answered from public and internal documents."""

    def copilot(question: str, request: gr.Request) -> str:
        who(request)
        try:
            answer = chat.copilot(question or "")
        except LotseError as exc:
            raise gr.Error(str(exc)) from exc
        if not answer.citations:
            return "_Dazu steht nichts in den Unterlagen._" + blocked_note(answer.grounding)
        cards = cards_html([{**c.to_dict(), "audience": c.audience} for c in answer.citations],
                           "Quellen")
        flag = " · **unsicher, bitte die Quellen prüfen**" \
            if answer.confidence < chat.handoff_below else ""
        return (f"{answer.text}{cards}\n\n<small>Sicherheit {answer.confidence:.2f}{flag}</small>"
                + blocked_note(answer.grounding))

    with gr.Tab("Copilot", id="copilot"):
        question = gr.Textbox(label="Eigene Frage (Antworten nutzen auch interne Notizen)",
                              elem_id="copilot-question")
        ask = gr.Button("Fragen", variant="primary", elem_id="copilot-ask")
        answer = gr.Markdown(elem_id="copilot-answer")
    for trigger in (ask.click, question.submit):
        trigger(copilot, [question], [answer])


def kpis_tab(chat: ChatService, who: Access) -> None:
    """Deflection, handoffs, CSAT, FCR, latency and content gaps, refreshed on demand."""

    def show_kpis(request: gr.Request):
        who(request)
        return kpi_views(chat.kpis())

    with gr.Tab("KPIs", id="kpis") as tab:
        kpi_refresh = gr.Button("Aktualisieren", size="sm", elem_id="kpi-refresh")
        numbers = gr.Markdown(elem_id="kpi-numbers")
        with gr.Row():
            reasons_plot = gr.BarPlot(x="Grund", y="Übergaben", title="Übergaben nach Grund",
                                      elem_id="plot-reasons")
            daily_plot = gr.BarPlot(x="Tag", y="Anzahl", color="Reihe", title="Gespräche pro Tag",
                                    elem_id="plot-daily")
        gaps_plot = gr.BarPlot(x="Frage", y="Anzahl", title="Inhaltslücken: häufigste "
                               "übergebene oder schlecht bewertete Fragen", elem_id="plot-gaps")
        gaps_table = gr.Dataframe(label="Inhaltslücken mit Beispielen", elem_id="gaps",
                                  interactive=False, wrap=True)
    outputs = [numbers, reasons_plot, daily_plot, gaps_plot, gaps_table]
    tab.select(show_kpis, None, outputs)
    kpi_refresh.click(show_kpis, None, outputs)


def faq_section(faq: FaqLoop, who: Access, stats_markdown: Callable[[], str],
                stats: gr.Markdown) -> tuple[gr.Radio, Callable[[], list]]:
    """FAQ proposals from agents' replies: pick one, edit question and answer, approve (the
    FAQ file is written and ingested) or reject. Inside the admin tab."""

    def choices() -> list[tuple[str, str]]:
        return [(f"Nr. {p.id} · {p.proposed_by} · {p.question[:60]}", str(p.id))
                for p in faq.pending()]

    def listing(request: gr.Request):
        who(request, "admin")
        return gr.update(choices=choices(), value=None), "", "", ""

    def pick(selected: str | None, request: gr.Request):
        who(request, "admin")
        found = [p for p in faq.pending() if str(p.id) == selected]
        if not found:
            return "", ""
        return found[0].question, found[0].answer

    def decide(approve: bool):
        def run(selected: str | None, question: str, answer: str, request: gr.Request):
            name = who(request, "admin")
            if not selected:
                raise gr.Error("Erst einen Vorschlag wählen.")
            try:
                if approve:
                    done = faq.approve(int(selected), name, question, answer)
                    note = (f"Nr. {selected} freigegeben und eingelesen: "
                            + report_markdown(done.report))
                else:
                    faq.reject(int(selected), name)
                    note = f"Nr. {selected} abgelehnt."
            except LotseError as exc:
                raise gr.Error(str(exc)) from exc
            return gr.update(choices=choices(), value=None), "", "", note, stats_markdown()
        return run

    gr.Markdown("### FAQ-Vorschläge aus Antworten des Teams")
    with gr.Row():
        proposals = gr.Radio(label="Offene Vorschläge", choices=[], elem_id="faq-proposals")
        refresh = gr.Button("Aktualisieren", size="sm", scale=0)
    question = gr.Textbox(label="Frage (bearbeitbar)", elem_id="faq-question")
    answer = gr.Textbox(label="Antwort (bearbeitbar)", lines=4, elem_id="faq-answer")
    with gr.Row():
        approve_btn = gr.Button("Freigeben und einlesen", variant="primary", elem_id="faq-approve")
        reject_btn = gr.Button("Ablehnen", elem_id="faq-reject")
    result = gr.Markdown(elem_id="faq-result")
    refresh.click(listing, None, [proposals, question, answer, result])
    proposals.input(pick, [proposals], [question, answer])
    outputs = [proposals, question, answer, result, stats]
    approve_btn.click(decide(True), [proposals, question, answer], outputs)
    reject_btn.click(decide(False), [proposals, question, answer], outputs)
    return proposals, choices


def admin_tab(admin: AdminService, faq: FaqLoop, who: Access) -> tuple[gr.Tab, gr.Markdown, Callable[[], str]]:
    """Uploads, re-ingest with progress, store statistics. Hidden unless the user is an admin.
    Returns the tab, the statistics view and the function that renders it."""

    def stats_markdown() -> str:
        s = admin.stats()
        uploads = admin.uploads()
        return (f"**Dokumente** {s.documents} · **Abschnitte** {s.chunks} · **Generation** "
                f"`{s.generation or '–'}` · **letzter Ingest** {_when(s.published_at)} · "
                f"**Embedder** `{s.embedder}`  \n**Hochgeladene Dateien** ({len(uploads)}): "
                + (", ".join(f"`{html.escape(u)}`" for u in uploads) or "–"))

    def show_stats(request: gr.Request) -> str:
        who(request, "admin")
        return stats_markdown()

    def tick_stats(request: gr.Request):
        """The timer runs on every staff page; only an admin's page gets the numbers."""
        who(request)
        return stats_markdown() if allows(who.role(request), "admin") else gr.update()

    def upload(files: list[str] | None, audience: str, request: gr.Request):
        who(request, "admin")
        lines = []
        for upload in files or []:
            path = Path(upload if isinstance(upload, str) else upload.name)
            try:
                saved = admin.save_upload(path.name, path, audience)
                lines.append(f"- gespeichert: `{html.escape(saved.name)}`")
            except LotseError as exc:
                lines.append(f"- **abgelehnt**: {html.escape(str(exc))}")
        return "\n".join(lines), None, stats_markdown()

    def run_ingest(folders: list[str], extra: str, request: gr.Request,
                   progress=gr.Progress()):
        who(request, "admin")
        paths = list(folders or []) + ([extra.strip()] if (extra or "").strip() else [])
        if not paths:
            raise gr.Error("Bitte mindestens einen Ordner wählen.")
        stages = {"load": "Dateien lesen", "embed": "Einbetten"}

        def step(stage: str, done: int, total: int) -> None:
            progress((done, total), desc=stages.get(stage, stage))

        try:
            report = admin.ingest(paths, progress=step)
        except LotseError as exc:
            raise gr.Error(str(exc)) from exc
        return report_markdown(report), stats_markdown()

    with gr.Tab("Admin", id="admin", visible=False) as tab:
        stats = gr.Markdown(elem_id="store-stats")
        with gr.Row():
            with gr.Column():
                audience = gr.Radio([("Kunden (öffentlich)", "public"),
                                     ("Nur Team (intern)", "internal")], value="public",
                                    label="Sichtbarkeit der hochgeladenen Dateien")
                files = gr.File(label="Dateien hochladen", file_count="multiple",
                                file_types=admin.accepted_suffixes, elem_id="upload")
                uploaded = gr.Markdown(elem_id="upload-result")
            with gr.Column():
                roots = [(f"Upload-Ordner ({admin.upload_dir})", str(admin.upload_dir))]
                roots += [(str(r), str(r)) for r in admin.ingest_roots]
                folders = gr.CheckboxGroup(roots, value=[v for _, v in roots],
                                           label="Neu einlesen", elem_id="folders")
                extra = gr.Textbox(label="Oder ein Unterordner davon", elem_id="folder")
                ingest_btn = gr.Button("Neu einlesen", variant="primary", elem_id="ingest")
        report = gr.Markdown(elem_id="ingest-report")
        stats_poll = gr.Timer(15.0)
        proposals, proposal_choices = faq_section(faq, who, stats_markdown, stats)
    tab.select(show_stats, None, [stats])
    tab.select(lambda: gr.update(choices=proposal_choices()), None, [proposals])
    stats_poll.tick(tick_stats, None, [stats])
    files.upload(upload, [files, audience], [uploaded, files, stats])
    ingest_btn.click(run_ingest, [folders, extra], [report, stats])
    return tab, stats, stats_markdown


def build_staff_ui(services: ChatServices) -> gr.Blocks:
    """The staff page: one function per tab; the header and the load event here."""
    who = Access(services.credentials)
    with gr.Blocks(title="Lotse – Team") as ui:
        with gr.Row(equal_height=True):
            gr.Markdown("## Lotse · Team")
            whoami = gr.Markdown(elem_id="whoami")
            gr.Button("Abmelden", link="/logout", elem_id="logout", scale=0, size="sm")
        with gr.Tabs():
            queue, queue_choices = tickets_tab(services.chat, services.faq, who)
            copilot_tab(services.chat, who)
            kpis_tab(services.chat, who)
            admin, stats, stats_markdown = admin_tab(services.admin, services.faq, who)

        def on_load(request: gr.Request):
            name = who(request)
            role = who.role(request)
            is_admin = allows(role, "admin")
            return (f"Angemeldet als **{html.escape(name)}** ({role})",
                    gr.update(visible=is_admin), gr.update(choices=queue_choices()),
                    stats_markdown() if is_admin else "")

        ui.load(on_load, None, [whoami, admin, queue, stats])
    ui.queue(max_size=32, default_concurrency_limit=2)
    return ui
