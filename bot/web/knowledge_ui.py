"""The staff page's knowledge-base tabs: the retrieval test for agents and admins, and
for admins the web sources, the document browser with usage, the schedule, the
generations with rollback and the audit log.

Each handler is one call into the services (``DocumentBrowser``, ``AdminService``,
``IngestScheduler``, ``check_retrieval``), the same ones the ``/v1/admin`` routes use.
A refusal is shown inline, next to the action that was refused (``inline_problems``).
"""

from __future__ import annotations

import html
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pandas as pd

from bot.chat.retrieval_check import check_retrieval
from bot.chat.service import ChatServices
from bot.web.staff_common import AUDIENCES, Access, Clock, inline_problems, report_markdown
from bot.web.staff_texts import label, language_of, say
from kb.settings import WebSourceSettings

WEB_MODES = [("Eine Seite · one page", "page"), ("Sitemap", "sitemap"),
             ("Website durchsuchen · crawl", "crawl")]
SIGNALS = ("bm25", "bm25_ngram", "dense", "dense_sentence", "coverage")
LIVE = ["lotse-live"]  # outputs whose news a screen reader announces (page_style)


def _cell(text: Any) -> str:
    """A value inside a Markdown table cell, shown as text."""
    return html.escape(str(text if text is not None else "–")).replace("|", "\\|").replace("\n", " ")


def probe_markdown(check: dict, language: str) -> str:
    """The retrieval test as Markdown: per view the decision, the confidence's parts, the
    answer and the hits with every signal."""
    parts = [say(language, "probe_head", ms=check["ms"], below=check["handoff_below"])]
    for view, result in check["views"].items():
        decision = (say(language, "probe_handoff", reason=result["handoff_reason"] or "–")
                    if result["handoff"] else say(language, "probe_answered", kind=result["kind"]))
        confidence = ", ".join(f"{k} {v:.2f}" for k, v in result["confidence_parts"].items())
        parts.append(f"### {say(language, 'probe_view_' + view)}\n\n{decision} · "
                     f"{say(language, 'probe_confidence')} **{result['confidence']:.2f}** "
                     f"({_cell(confidence)})\n\n> {_cell(result['answer'])}\n")
        head = "| # | " + say(language, "probe_cols") + " | " + " | ".join(SIGNALS) + " |"
        rows = [head, "|" + "---|" * (5 + len(SIGNALS))]
        for hit in result["hits"]:
            signals = " | ".join(f"{hit['signals'].get(s, 0):.2f}" for s in SIGNALS)
            rows.append(f"| {hit['rank']} | {_cell(hit['source'])} | {_cell(hit['section'])} | "
                        f"{hit['audience']} | {hit['score']:.3f} | {signals} |")
        parts.append("\n".join(rows) if result["hits"] else say(language, "probe_no_hits"))
    return "\n\n".join(parts)


def retrieval_tab(services: ChatServices, who: Access) -> tuple[gr.Tab, gr.Textbox, gr.Markdown]:
    """The retrieval test ("Trefferprüfung"): what both views do with one question."""

    @inline_problems(1)
    def probe(question: str, request: gr.Request) -> str:
        who(request)
        return probe_markdown(check_retrieval(services.admin.engine, question or ""),
                              language_of(request))

    with gr.Tab(label("tab_probe"), id="probe") as tab:
        question = gr.Textbox(label=label("probe_question"), elem_id="probe-question")
        run = gr.Button(label("probe_run"), variant="primary", elem_id="probe-run")
        result = gr.Markdown(elem_id="probe-result", elem_classes=LIVE)
    for trigger in (run.click, question.submit):
        trigger(probe, [question], [result])
    return tab, question, result


class KnowledgeViews:
    """The knowledge tab's read-only views, each rendered in one language, with times in
    the business time zone."""

    def __init__(self, services: ChatServices, clock: Clock) -> None:
        self.services, self.documents, self.admin = services, services.documents, services.admin
        self.when = clock

    def document_table(self, language: str, filter_text: str = "") -> tuple[pd.DataFrame, Any, str]:
        docs = self.documents.documents()
        wanted = (filter_text or "").strip().lower()
        shown = [d for d in docs if not wanted or wanted in f"{d.source} {d.title}".lower()]
        frame = pd.DataFrame([[d.source, d.title, d.audience, d.doc_type, d.language, d.chunks,
                               self.when(d.changed_at), say(language, "doc_status_" + d.status),
                               d.failure, d.cited, d.helpful, d.unhelpful] for d in shown],
                             columns=say(language, "doc_columns").split("|"))
        never = [d.source for d in docs if d.status == "live" and not d.cited]
        note = say(language, "never_cited", n=len(never),
                   sources=", ".join(f"`{html.escape(s)}`" for s in never[:30])
                   + (" …" if len(never) > 30 else ""))
        return frame, gr.update(choices=[(d.source, d.key) for d in shown], value=None), note

    def schedule(self, language: str) -> str:
        plan = self.services.scheduler.plan()
        if not plan:
            return say(language, "schedule_off")
        rows = [say(language, "schedule_head"), "|---|---|---|---|"]
        for p in plan:
            run = p.last_run
            last = "–" if run is None else (
                f"{self.when(run['started_at'])} ({run['trigger']}): " + (
                    say(language, "schedule_error", error=_cell(run["error"])) if run["error"]
                    else say(language, "schedule_counts", **{k: run[k] for k in
                             ("added", "updated", "removed", "failed")})))
            rows.append(f"| {_cell(p.target)} | {p.every_minutes:g} min | {last} | "
                        f"{self.when(p.next_at)} |")
        return "\n".join(rows)

    def generations(self, language: str) -> pd.DataFrame:
        return pd.DataFrame([[g["generation"], self.when(g["published_at"]), g["files"],
                              g["counts"].get("public_chunks", 0),
                              g["counts"].get("internal_chunks", 0), "✔" if g["live"] else ""]
                             for g in self.admin.generations()],
                            columns=say(language, "gen_columns").split("|"))

    def previous_generation(self) -> tuple[str, str] | None:
        """(the generation a rollback makes live, the live one), or None without one."""
        ids = [g["generation"] for g in self.admin.generations()]  # newest first
        live = next((g["generation"] for g in self.admin.generations() if g["live"]), None)
        if live is None or ids.index(live) + 1 >= len(ids):
            return None
        return ids[ids.index(live) + 1], live

    def audit(self, language: str) -> pd.DataFrame:
        return pd.DataFrame([[self.when(e.at), e.who, e.action, e.target, e.detail]
                             for e in self.services.chat.state.audit_log(100)],
                            columns=say(language, "audit_columns").split("|"))

    def listing(self, language: str, filter_text: str = "") -> tuple:
        """Documents table, picker, never-cited note, schedule, generations, audit log."""
        frame, picker, note = self.document_table(language, filter_text)
        return (frame, picker, note, self.schedule(language), self.generations(language),
                self.audit(language))


def _web_section() -> SimpleNamespace:
    gr.Markdown(label("web_heading"))
    with gr.Row():
        url = gr.Textbox(label=label("web_url"), elem_id="web-url", scale=3)
        mode = gr.Radio(WEB_MODES, value="crawl", label=label("web_mode"), elem_id="web-mode")
        max_pages = gr.Number(100, label=label("web_max_pages"), precision=0, minimum=1,
                              elem_id="web-max-pages")
    crawl = gr.Button(label("web_ingest"), variant="primary", elem_id="web-ingest")
    report = gr.Markdown(elem_id="web-report", elem_classes=LIVE)
    return SimpleNamespace(url=url, mode=mode, max_pages=max_pages, crawl=crawl, report=report)


def _documents_section() -> SimpleNamespace:
    gr.Markdown(label("docs_heading"))
    with gr.Row():
        filter_text = gr.Textbox(label=label("doc_filter"), elem_id="doc-filter", scale=3)
        refresh = gr.Button(label("refresh"), size="sm", scale=0, elem_id="docs-refresh")
    table = gr.Dataframe(interactive=False, wrap=True, elem_id="documents", max_height=360)
    never = gr.Markdown(elem_id="never-cited")
    picker = gr.Dropdown(label=label("doc_pick_label"), choices=[], elem_id="doc-pick",
                         filterable=True)
    head = gr.Markdown(elem_id="doc-head")
    with gr.Row():
        exclude = gr.Button(label("doc_exclude"), elem_id="doc-exclude")
        audience = gr.Radio(AUDIENCES, label=label("doc_audience"), elem_id="doc-audience")
        audience_apply = gr.Button(label("doc_audience_apply"), elem_id="doc-audience-apply")
        reingest = gr.Button(label("doc_reingest"), elem_id="doc-reingest")
    result = gr.Markdown(elem_id="doc-result", elem_classes=LIVE)
    with gr.Accordion(label("doc_chunks"), open=True):
        chunks = gr.Markdown(elem_id="doc-chunks")
    return SimpleNamespace(filter_text=filter_text, refresh=refresh, table=table, never=never,
                           picker=picker, head=head, exclude=exclude, audience=audience,
                           audience_apply=audience_apply, reingest=reingest, result=result,
                           chunks=chunks)


def _history_section() -> SimpleNamespace:
    gr.Markdown(label("schedule_heading"))
    schedule = gr.Markdown(elem_id="schedule")
    gr.Markdown(label("gen_heading"))
    generations = gr.Dataframe(interactive=False, elem_id="generations")
    rollback = gr.Button(label("gen_rollback"), elem_id="rollback")
    with gr.Group(visible=False, elem_id="rollback-confirm-box") as confirm_box:
        question = gr.Markdown(elem_id="rollback-question")
        with gr.Row():
            confirm = gr.Button(label("gen_rollback_confirm"), variant="stop",
                                elem_id="rollback-confirm")
            cancel = gr.Button(label("gen_rollback_cancel"), elem_id="rollback-cancel")
    note = gr.Markdown(elem_id="rollback-result", elem_classes=LIVE)
    gr.Markdown(label("audit_heading"))
    audit = gr.Dataframe(interactive=False, wrap=True, elem_id="audit")
    return SimpleNamespace(schedule=schedule, generations=generations, rollback=rollback,
                           confirm_box=confirm_box, question=question, confirm=confirm,
                           cancel=cancel, note=note, audit=audit)


def _wire_web(services: ChatServices, who: Access, views: KnowledgeViews,
              web: SimpleNamespace, listing: list) -> None:
    """An admin's web address, checked and read; a refusal stays next to the button."""

    @inline_problems(1 + len(listing))
    def crawl(url: str, mode: str, max_pages: float | None, request: gr.Request):
        name = who(request, "admin")
        language = language_of(request)
        try:
            source = WebSourceSettings(url=(url or "").strip(), mode=mode or "page",
                                       max_pages=int(max_pages or 100))
        except ValueError:
            raise gr.Error(say(language, "web_bad_url",
                               url=html.escape((url or "")[:120]))) from None
        report = services.admin.ingest([], sources=[source], by=name)
        return (report_markdown(report, language), *views.listing(language))

    web.crawl.click(crawl, [web.url, web.mode, web.max_pages], [web.report, *listing])


def _wire_documents(services: ChatServices, who: Access, views: KnowledgeViews,
                    docs: SimpleNamespace, history: SimpleNamespace) -> None:
    """One document: its chunks, and excluding, re-classing or re-reading it."""
    documents = services.documents

    @inline_problems(3)
    def pick(key: str | None, request: gr.Request):
        who(request, "admin")
        language = language_of(request)
        if not key:
            return "", "", gr.update()
        doc, chunks = documents.chunks(key)
        head = say(language, "doc_head", source=_cell(doc.source), title=_cell(doc.title),
                   audience=doc.audience or "–", status=say(language, "doc_status_" + doc.status),
                   chunks=len(chunks), cited=doc.cited, helpful=doc.helpful,
                   unhelpful=doc.unhelpful)
        if doc.failure:
            head += "\n\n" + say(language, "doc_failure", reason=_cell(doc.failure))
        body = "\n\n".join(f"**{c['position'] + 1}. {_cell(c['section'] or '–')}** "
                           f"({c['audience']})\n\n{html.escape(c['text'])}" for c in chunks)
        return head, body or say(language, "doc_no_chunks"), gr.update(value=doc.audience or None)

    def act(action: str):
        @inline_problems(8)
        def run(key: str | None, audience: str | None, filter_text: str, request: gr.Request):
            name = who(request, "admin")
            language = language_of(request)
            if not key:
                raise gr.Error(say(language, "doc_pick"))
            if action == "exclude":
                report = (documents.include(key, name)
                          if documents.document(key).status == "excluded"
                          else documents.exclude(key, name))
            elif action == "audience":
                report = documents.set_audience(key, audience or "public", name)
            else:
                report = documents.reingest(key, name)
            head, chunks, _ = pick(key, request)
            frame, _picker, note, schedule, gens, audit = views.listing(language, filter_text)
            return (report_markdown(report, language), head, chunks, frame, note, schedule,
                    gens, audit)
        return run

    docs.picker.input(pick, [docs.picker], [docs.head, docs.chunks, docs.audience])
    changed = [docs.result, docs.head, docs.chunks, docs.table, docs.never, history.schedule,
               history.generations, history.audit]
    inputs = [docs.picker, docs.audience, docs.filter_text]
    docs.exclude.click(act("exclude"), inputs, changed)
    docs.audience_apply.click(act("audience"), inputs, changed)
    docs.reingest.click(act("reingest"), inputs, changed)


def _wire_rollback(services: ChatServices, who: Access, views: KnowledgeViews,
                   history: SimpleNamespace) -> None:
    """Going back a generation changes every customer's answers: the first click asks,
    naming both generations; only "yes" rolls back."""

    @inline_problems(3, at=2)
    def ask(request: gr.Request):
        who(request, "admin")
        language = language_of(request)
        pair = views.previous_generation()
        if pair is None:
            return gr.update(visible=False), "", say(language, "gen_rollback_none")
        to, live = pair
        return (gr.update(visible=True), say(language, "gen_rollback_ask", to=to, live=live),
                "")

    @inline_problems(4)
    def rollback(request: gr.Request):
        name = who(request, "admin")
        language = language_of(request)
        done = services.admin.rollback(None, name)
        return (say(language, "rolled_back", generation=done["generation"], was=done["was"]),
                views.generations(language), views.audit(language), gr.update(visible=False))

    @inline_problems(2, at=1)
    def cancel(request: gr.Request):
        who(request, "admin")
        return gr.update(visible=False), say(language_of(request), "gen_rollback_cancelled")

    history.rollback.click(ask, None, [history.confirm_box, history.question, history.note])
    history.confirm.click(rollback, None, [history.note, history.generations, history.audit,
                                           history.confirm_box])
    history.cancel.click(cancel, None, [history.confirm_box, history.note])


def knowledge_tab(services: ChatServices, who: Access, clock: Clock) -> gr.Tab:
    """Web sources, documents (with usage and actions), schedule, generations, audit log.
    Hidden unless the user is an admin."""
    views = KnowledgeViews(services, clock)
    with gr.Tab(label("tab_knowledge"), id="knowledge", visible=False) as tab:
        web = _web_section()
        docs = _documents_section()
        history = _history_section()
    listing = [docs.table, docs.picker, docs.never, history.schedule, history.generations,
               history.audit]

    @inline_problems(len(listing), at=2)
    def show(filter_text: str, request: gr.Request):
        who(request, "admin")
        return views.listing(language_of(request), filter_text)

    tab.select(show, [docs.filter_text], listing)
    docs.refresh.click(show, [docs.filter_text], listing)
    docs.filter_text.submit(show, [docs.filter_text], listing)
    _wire_web(services, who, views, web, listing)
    _wire_documents(services, who, views, docs, history)
    _wire_rollback(services, who, views, history)
    return tab
