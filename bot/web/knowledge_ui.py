"""The staff page's knowledge-base tabs: the retrieval test for agents and admins, and
for admins the web sources, the document browser with usage, the schedule, the
generations with rollback and the audit log.

Each handler is one call into the services (``DocumentBrowser``, ``AdminService``,
``IngestScheduler``, ``check_retrieval``), the same ones the ``/v1/admin`` routes use.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from bot.chat.retrieval_check import check_retrieval
from bot.chat.service import ChatServices
from bot.web.staff_common import AUDIENCES, Access, report_markdown, when
from bot.web.staff_texts import label, language_of, say
from kb.errors import LotseError
from kb.settings import WebSourceSettings

WEB_MODES = [("Eine Seite · one page", "page"), ("Sitemap", "sitemap"),
             ("Website durchsuchen · crawl", "crawl")]
SIGNALS = ("bm25", "bm25_ngram", "dense", "dense_sentence", "coverage")


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

    def probe(question: str, request: gr.Request) -> str:
        who(request)
        try:
            return probe_markdown(check_retrieval(services.admin.engine, question or ""),
                                  language_of(request))
        except LotseError as exc:
            raise gr.Error(str(exc)) from exc

    with gr.Tab(label("tab_probe"), id="probe") as tab:
        question = gr.Textbox(label=label("probe_question"), elem_id="probe-question")
        run = gr.Button(label("probe_run"), variant="primary", elem_id="probe-run")
        result = gr.Markdown(elem_id="probe-result")
    for trigger in (run.click, question.submit):
        trigger(probe, [question], [result])
    return tab, question, result


def knowledge_tab(services: ChatServices, who: Access) -> gr.Tab:
    """Web sources, documents (with usage and actions), schedule, generations, audit log.
    Hidden unless the user is an admin."""
    documents, admin = services.documents, services.admin

    def document_table(language: str, filter_text: str = "") -> tuple[pd.DataFrame, Any, str]:
        docs = documents.documents()
        wanted = (filter_text or "").strip().lower()
        shown = [d for d in docs if not wanted or wanted in f"{d.source} {d.title}".lower()]
        columns = say(language, "doc_columns").split("|")
        frame = pd.DataFrame([[d.source, d.title, d.audience, d.doc_type, d.language, d.chunks,
                               when(d.changed_at), say(language, "doc_status_" + d.status),
                               d.failure, d.cited, d.helpful, d.unhelpful] for d in shown],
                             columns=columns)
        choices = [(d.source, d.key) for d in shown]
        never = [d.source for d in docs if d.status == "live" and not d.cited]
        note = say(language, "never_cited", n=len(never),
                   sources=", ".join(f"`{html.escape(s)}`" for s in never[:30])
                   + (" …" if len(never) > 30 else ""))
        return frame, gr.update(choices=choices, value=None), note

    def schedule_markdown(language: str) -> str:
        plan = services.scheduler.plan()
        if not plan:
            return say(language, "schedule_off")
        rows = [say(language, "schedule_head"), "|---|---|---|---|"]
        for p in plan:
            run = p.last_run
            last = "–" if run is None else (
                f"{when(run['started_at'])} ({run['trigger']}): " + (
                    say(language, "schedule_error", error=_cell(run["error"])) if run["error"]
                    else say(language, "schedule_counts", **{k: run[k] for k in
                             ("added", "updated", "removed", "failed")})))
            rows.append(f"| {_cell(p.target)} | {p.every_minutes:g} min | {last} | "
                        f"{when(p.next_at)} |")
        return "\n".join(rows)

    def generations_table(language: str) -> pd.DataFrame:
        return pd.DataFrame([[g["generation"], when(g["published_at"]), g["files"],
                              g["counts"].get("public_chunks", 0),
                              g["counts"].get("internal_chunks", 0), "✔" if g["live"] else ""]
                             for g in admin.generations()],
                            columns=say(language, "gen_columns").split("|"))

    def audit_table(language: str) -> pd.DataFrame:
        return pd.DataFrame([[when(e.at), e.who, e.action, e.target, e.detail]
                             for e in services.chat.state.audit_log(100)],
                            columns=say(language, "audit_columns").split("|"))

    def show(filter_text: str, request: gr.Request):
        who(request, "admin")
        language = language_of(request)
        frame, picker, note = document_table(language, filter_text)
        return (frame, picker, note, schedule_markdown(language), generations_table(language),
                audit_table(language))

    def crawl(url: str, mode: str, max_pages: float | None, request: gr.Request):
        name = who(request, "admin")
        language = language_of(request)
        try:
            source = WebSourceSettings(url=(url or "").strip(), mode=mode or "page",
                                       max_pages=int(max_pages or 100))
        except ValueError:
            raise gr.Error(say(language, "web_bad_url", url=html.escape((url or "")[:120]))) from None
        try:
            report = admin.ingest([], sources=[source], by=name)
        except LotseError as exc:
            raise gr.Error(str(exc)) from exc
        return (report_markdown(report, language), *show("", request))

    def pick(key: str | None, request: gr.Request):
        who(request, "admin")
        language = language_of(request)
        if not key:
            return "", "", gr.update()
        try:
            doc, chunks = documents.chunks(key)
        except LotseError as exc:
            raise gr.Error(str(exc)) from exc
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
        def run(key: str | None, audience: str | None, filter_text: str, request: gr.Request):
            name = who(request, "admin")
            language = language_of(request)
            if not key:
                raise gr.Error(say(language, "doc_pick"))
            try:
                if action == "exclude":
                    doc = documents.document(key)
                    report = (documents.include(key, name) if doc.status == "excluded"
                              else documents.exclude(key, name))
                elif action == "audience":
                    report = documents.set_audience(key, audience or "public", name)
                else:
                    report = documents.reingest(key, name)
            except LotseError as exc:
                raise gr.Error(str(exc)) from exc
            head, chunks, _ = pick(key, request)
            frame, _picker, note, schedule, gens, audit = show(filter_text, request)
            return (report_markdown(report, language), head, chunks, frame, note, schedule,
                    gens, audit)
        return run

    def rollback(request: gr.Request):
        name = who(request, "admin")
        language = language_of(request)
        try:
            done = admin.rollback(None, name)
        except LotseError as exc:
            raise gr.Error(str(exc)) from exc
        return (say(language, "rolled_back", generation=done["generation"], was=done["was"]),
                generations_table(language), audit_table(language))

    with gr.Tab(label("tab_knowledge"), id="knowledge", visible=False) as tab:
        gr.Markdown(label("web_heading"))
        with gr.Row():
            url = gr.Textbox(label=label("web_url"), elem_id="web-url", scale=3)
            mode = gr.Radio(WEB_MODES, value="crawl", label=label("web_mode"), elem_id="web-mode")
            max_pages = gr.Number(100, label=label("web_max_pages"), precision=0, minimum=1,
                                  elem_id="web-max-pages")
        crawl_btn = gr.Button(label("web_ingest"), variant="primary", elem_id="web-ingest")
        crawl_report = gr.Markdown(elem_id="web-report")

        gr.Markdown(label("docs_heading"))
        with gr.Row():
            filter_text = gr.Textbox(label=label("doc_filter"), elem_id="doc-filter", scale=3)
            refresh = gr.Button(label("refresh"), size="sm", scale=0, elem_id="docs-refresh")
        table = gr.Dataframe(interactive=False, wrap=True, elem_id="documents", max_height=360)
        never = gr.Markdown(elem_id="never-cited")
        picker = gr.Dropdown(label=label("doc_pick_label"), choices=[], elem_id="doc-pick",
                             filterable=True)
        doc_head = gr.Markdown(elem_id="doc-head")
        with gr.Row():
            exclude_btn = gr.Button(label("doc_exclude"), elem_id="doc-exclude")
            audience = gr.Radio(AUDIENCES, label=label("doc_audience"), elem_id="doc-audience")
            audience_btn = gr.Button(label("doc_audience_apply"), elem_id="doc-audience-apply")
            reingest_btn = gr.Button(label("doc_reingest"), elem_id="doc-reingest")
        doc_result = gr.Markdown(elem_id="doc-result")
        with gr.Accordion(label("doc_chunks"), open=True):
            chunks = gr.Markdown(elem_id="doc-chunks")

        gr.Markdown(label("schedule_heading"))
        schedule = gr.Markdown(elem_id="schedule")
        gr.Markdown(label("gen_heading"))
        generations = gr.Dataframe(interactive=False, elem_id="generations")
        rollback_btn = gr.Button(label("gen_rollback"), elem_id="rollback")
        rollback_note = gr.Markdown(elem_id="rollback-result")
        gr.Markdown(label("audit_heading"))
        audit = gr.Dataframe(interactive=False, wrap=True, elem_id="audit")

    listing = [table, picker, never, schedule, generations, audit]
    tab.select(show, [filter_text], listing)
    refresh.click(show, [filter_text], listing)
    filter_text.submit(show, [filter_text], listing)
    crawl_btn.click(crawl, [url, mode, max_pages], [crawl_report, *listing])
    picker.input(pick, [picker], [doc_head, chunks, audience])
    changed = [doc_result, doc_head, chunks, table, never, schedule, generations, audit]
    exclude_btn.click(act("exclude"), [picker, audience, filter_text], changed)
    audience_btn.click(act("audience"), [picker, audience, filter_text], changed)
    reingest_btn.click(act("reingest"), [picker, audience, filter_text], changed)
    rollback_btn.click(rollback, None, [rollback_note, generations, audit])
    return tab
