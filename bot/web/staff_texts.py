"""Every text of the staff UI, in German (the default) and English.

Labels, buttons and tab names are translated in the browser (Gradio's ``I18n``, by the
browser's language); what the server writes into the page (ticket heads, notes, errors)
follows the same choice through ``language_of``. A browser that asks for German gets
German; any other (or none) gets English, because that is Gradio's own fallback for the
labels, and the two must agree.
"""

from __future__ import annotations

import gradio as gr

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        # tabs, labels, buttons
        "tab_tickets": "Tickets", "tab_copilot": "Copilot", "tab_kpis": "KPIs", "tab_admin": "Admin",
        "title": "# Lotse · Team", "logout": "Abmelden",
        "queue": "Warteschlange (offen und in Bearbeitung)", "refresh": "Aktualisieren",
        "transcript": "Gesprächsverlauf (ungeschwärzt, solange offen)",
        "draft": "Antwort an den Kunden (Entwurf mit Quellen, bearbeitbar)",
        "take": "Übernehmen", "send_reply": "Antwort senden", "propose_faq": "Als FAQ vorschlagen",
        "close_resolved": "Schließen: gelöst", "close_unresolved": "Schließen: nicht gelöst",
        "copilot_question": "Eigene Frage (Antworten nutzen auch interne Notizen)",
        "ask": "Fragen", "plot_reasons": "Übergaben nach Grund", "plot_daily": "Gespräche pro Tag",
        "plot_gaps": "Inhaltslücken: häufigste übergebene oder schlecht bewertete Fragen",
        "gaps_table": "Inhaltslücken mit Beispielen",
        "audience": "Sichtbarkeit der hochgeladenen Dateien", "upload": "Dateien hochladen", "reingest": "Neu einlesen",
        "subfolder": "Oder ein Unterordner davon", "faq_heading": "### FAQ-Vorschläge aus "
        "Antworten des Teams", "faq_open": "Offene Vorschläge", "faq_question": "Frage "
        "(bearbeitbar)", "faq_answer": "Antwort (bearbeitbar)", "faq_approve": "Freigeben und "
        "einlesen", "faq_reject": "Ablehnen", "pick_ticket": "Wähle links ein Ticket.",
        # what the server writes
        "reason.asked_for_human": "möchte einen Menschen", "reason.negative_sentiment": "verärgert",
        "reason.low_confidence": "unsichere Antwort", "reason.no_sources": "keine Quelle",
        "reason.policy": "nicht beantwortbar", "reason.long_message": "lange E-Mail",
        "reason.no_text": "E-Mail ohne Text", "reason.mail_limit": "viele E-Mails",
        "reason.mail_failed": "Antwort nicht zustellbar",
        "status.open": "offen", "status.taken": "in Bearbeitung", "status.closed": "geschlossen",
        "new": "● {n} neu · ", "no_question": "(ohne Frage)",
        "head": "### {number} · {status}\n**Grund:** {reason}  \n**Frage:** {question}  \n"
                "**Bearbeitet von:** {assignee} · **eröffnet** {opened}",
        "team": "Serviceteam", "found_sources": "Gefundene Quellen",
        "client_history": "Vom Client übermittelter Verlauf (nicht von Lotse)",
        "no_sources": "_Keine Quellen gefunden._", "choose_first": "Erst ein Ticket wählen.",
        "taken_by": "{number} gehört jetzt {name}.", "empty_reply": "Die Antwort ist leer.",
        "sent": "Antwort gesendet; der Kunde sieht sie im Chat.",
        "mail_failed": " **Die E-Mail an {to} ging nicht raus** ({error}); bitte später erneut "
                       "senden oder anders Kontakt aufnehmen.",
        "mailed": " Per E-Mail an {to} geschickt.",
        "proposed": "Als FAQ vorgeschlagen (Nr. {id}): „{question}“. Eine Admin prüft und gibt "
                    "frei.",
        "unread_close": "**{n} neue Kundennachricht(en)**, seit du das Ticket geöffnet hast. "
                        "Bitte lesen; ein zweiter Klick schließt es trotzdem.",
        "closed": "{number} geschlossen ({how}).", "resolved": "gelöst",
        "unresolved": "nicht gelöst",
        "nothing_found": "_Dazu steht nichts in den Unterlagen._",
        "sources": "Quellen", "unsure": " · **unsicher, bitte die Quellen prüfen**",
        "certainty": "Sicherheit", "internal_mark": "intern",
        "blocked": "**Zitatprüfung:** {n} erzeugte(r) Satz/Sätze verworfen.",
        "blocked_extractive": " Antwort aus den Quellen zitiert.",
        "blocked_handoff": " An das Team übergeben.",
        "kpi_head": "| Gespräche | Deflection | Übergaben | CSAT | Erstlösung | Latenz p50 / p95 |"
                    " Halluzinationen geblockt | aus Team-FAQ beantwortet |",
        "advice_head": "| Beratungsgespräche | empfohlene Produkte | Beratung endete beim Team |",
        "email_head": "| E-Mails gelesen | beantwortet | ans Team | zum Ticket | nicht beantwortet "
                      "(Maschinen) | Antwortzeit p50 / p95 |",
        "ratings": "Bewertungen", "closed_count": "geschlossen", "in_generated":
        "in {n} erzeugten Antworten", "col_reason": "Grund", "col_handoffs": "Übergaben",
        "col_day": "Tag", "col_series": "Reihe", "col_count": "Anzahl",
        "col_question": "Frage", "col_examples": "Beispiele", "series_bot": "vom Bot gelöst",
        "series_human": "an Menschen übergeben",
        "stats": "**Dokumente** {documents} · **Abschnitte** {chunks} · **Generation** "
                 "`{generation}` · **letzter Ingest** {when} · **Embedder** `{embedder}`  \n"
                 "**Hochgeladene Dateien** ({n}): {uploads}",
        "saved": "- gespeichert: `{name}`", "refused": "- **abgelehnt**: {reason}",
        "pick_folder": "Bitte mindestens einen Ordner wählen.",
        "stage.load": "Dateien lesen", "stage.embed": "Einbetten",
        "report": "**Neu** {added} · **Aktualisiert** {updated} · **Entfernt** {removed} · "
                  "**Unverändert** {unchanged} · **Fehlgeschlagen** {failed}",
        "report_published": "{embedded} Abschnitte eingebettet, {total} im Index, Generation "
                            "`{generation}` veröffentlicht ({seconds:.1f} s).",
        "report_nothing": "{embedded} Abschnitte eingebettet, {total} im Index, nichts zu "
                          "veröffentlichen ({seconds:.1f} s).",
        "report_failed": "- **fehlgeschlagen** `{file}`: {reason}",
        "report_skipped": "- übersprungen `{file}`: {reason}",
        "report_warning": "- Hinweis `{file}`: {reason}",
        "tab_probe": "Trefferprüfung", "tab_knowledge": "Wissensbasis",
        "probe_question": "Frage, wie ein Kunde sie stellen würde",
        "probe_run": "Prüfen",
        "probe_head": "Beide Sichten in {ms} ms · Übergabe unter Sicherheit {below}",
        "probe_handoff": "**Übergabe an das Team** (Grund: {reason})",
        "probe_answered": "**Beantwortet** ({kind})",
        "probe_view_customer": "Kundensicht", "probe_view_agent": "Teamsicht (mit internen Notizen)",
        "probe_confidence": "Sicherheit", "probe_cols": "Quelle | Abschnitt | Sichtbarkeit | Gesamt",
        "probe_no_hits": "Keine Treffer.",
        "web_heading": "### Webquellen", "web_url": "Adresse (Seite, sitemap.xml oder Startseite)",
        "web_mode": "Art", "web_max_pages": "Höchstens Seiten", "web_ingest": "Einlesen",
        "web_bad_url": "{url} ist keine http(s)-Adresse.",
        "docs_heading": "### Dokumente", "doc_filter": "Filtern nach Quelle oder Titel",
        "doc_columns": "Quelle|Titel|Sichtbarkeit|Typ|Sprache|Abschnitte|Geändert|Status|Fehler|"
                       "Zitiert (30 Tage)|hilfreich|nicht hilfreich",
        "doc_status_live": "aktiv", "doc_status_excluded": "ausgeschlossen",
        "doc_status_failed": "fehlerhaft",
        "never_cited": "**Nie zitiert in 30 Tagen** ({n}): {sources}",
        "doc_pick_label": "Dokument ansehen", "doc_pick": "Bitte zuerst ein Dokument wählen.",
        "doc_head": "**{title}** · `{source}` · {audience} · {status} · {chunks} Abschnitte · "
                    "{cited}× zitiert ({helpful} hilfreich, {unhelpful} nicht)",
        "doc_failure": "**Letzter Fehler:** {reason}", "doc_no_chunks": "Keine Abschnitte im Index.",
        "doc_exclude": "Ausschließen / wieder aufnehmen", "doc_audience": "Sichtbarkeit",
        "doc_audience_apply": "Sichtbarkeit ändern", "doc_reingest": "Neu einlesen",
        "doc_chunks": "Abschnitte, wie Lotse sie sieht",
        "schedule_heading": "### Zeitplan", "schedule_off": "Kein Zeitplan (ingest.schedule_minutes "
        "ist 0 und keine Webquelle hat every_minutes).",
        "schedule_head": "| Ziel | alle | letzter Lauf | nächster Lauf |",
        "schedule_error": "Fehler: {error}",
        "schedule_counts": "+{added} ~{updated} −{removed}, {failed} fehlerhaft",
        "gen_heading": "### Generationen",
        "gen_columns": "Generation|veröffentlicht|Dateien|öffentlich|intern|aktiv",
        "gen_rollback": "Zur vorherigen Generation zurück",
        "rolled_back": "Aktiv ist jetzt `{generation}` (vorher `{was}`).",
        "audit_heading": "### Änderungsprotokoll", "audit_columns": "Zeit|wer|Aktion|Ziel|Details",
        "upload_folder": "Upload-Ordner ({path})",
        "faq_item": "Nr. {id} · {by} · {question}", "faq_pick": "Erst einen Vorschlag wählen.",
        "faq_approved": "Nr. {id} freigegeben und eingelesen: ", "faq_rejected": "Nr. {id} "
        "abgelehnt.", "whoami": "Angemeldet als **{name}** ({role})",
        "no_right": "Dafür fehlt die Berechtigung.", "login_again": "Bitte neu anmelden.",
        # refusals, shown inline (bot.web.staff_problems)
        "problem": "**⚠ Nicht ausgeführt:** {text}",
        "problem_throttled": "Zu viele Anfragen in kurzer Zeit; bitte gleich noch einmal. "
                             "<small>(Details: {detail})</small>",
        "problem_not_found": "Das gibt es nicht (mehr). <small>(Details: {detail})</small>",
        "problem_forbidden": "Das ist nicht erlaubt. <small>(Details: {detail})</small>",
        "problem_too_large": "Das ist zu groß. <small>(Details: {detail})</small>",
        "problem_invalid": "Die Eingabe passt so nicht. <small>(Details: {detail})</small>",
        "problem_other": "Das hat nicht geklappt. <small>(Details: {detail})</small>",
        "web_not_http": "Das ist keine http(s)-Adresse.",
        "web_host_unknown": "Den Rechner {host} kennt kein Namensserver; bitte die Adresse "
                            "prüfen.",
        "web_host_not_listed": "Lotse liest nur Seiten von {hosts} (Einstellung "
                               "ingest.web_hosts); {host} gehört nicht dazu.",
        "web_not_public": "{host} führt zu einer internen oder nicht öffentlichen Adresse; "
                          "solche Adressen liest Lotse nicht.",
        "gen_rollback_ask": "**Wirklich zurück?** Danach antwortet Lotse allen Kunden sofort "
                            "aus Generation `{to}` statt aus `{live}`.",
        "gen_rollback_confirm": "Ja, zurück zu dieser Generation",
        "gen_rollback_cancel": "Abbrechen", "gen_rollback_cancelled": "Nicht zurückgesetzt.",
        "gen_rollback_none": "Es gibt keine frühere Generation.",
    },
    "en": {
        "tab_tickets": "Tickets", "tab_copilot": "Copilot", "tab_kpis": "KPIs", "tab_admin": "Admin",
        "title": "# Lotse · Team", "logout": "Log out",
        "queue": "Queue (open and in progress)", "refresh": "Refresh",
        "transcript": "Conversation (unredacted while open)",
        "draft": "Reply to the customer (draft with sources, editable)",
        "take": "Take", "send_reply": "Send reply", "propose_faq": "Propose as FAQ",
        "close_resolved": "Close: resolved", "close_unresolved": "Close: not resolved",
        "copilot_question": "Your own question (answers use internal notes too)",
        "ask": "Ask", "plot_reasons": "Handoffs by reason", "plot_daily": "Conversations per day",
        "plot_gaps": "Content gaps: most frequent handed-off or badly rated questions",
        "gaps_table": "Content gaps with examples",
        "audience": "Who may see the uploaded files", "upload": "Upload files", "reingest": "Re-ingest",
        "subfolder": "Or a subfolder of one", "faq_heading": "### FAQ proposals from the team's "
        "replies", "faq_open": "Open proposals", "faq_question": "Question (editable)",
        "faq_answer": "Answer (editable)", "faq_approve": "Approve and ingest",
        "faq_reject": "Reject", "pick_ticket": "Choose a ticket on the left.",
        "reason.asked_for_human": "wants a person", "reason.negative_sentiment": "upset",
        "reason.low_confidence": "unsure answer", "reason.no_sources": "no source",
        "reason.policy": "cannot be answered", "reason.long_message": "long e-mail",
        "reason.no_text": "e-mail without text", "reason.mail_limit": "many e-mails",
        "reason.mail_failed": "reply not delivered",
        "status.open": "open", "status.taken": "in progress", "status.closed": "closed",
        "new": "● {n} new · ", "no_question": "(no question)",
        "head": "### {number} · {status}\n**Reason:** {reason}  \n**Question:** {question}  \n"
                "**Handled by:** {assignee} · **opened** {opened}",
        "team": "Service team", "found_sources": "Sources found",
        "client_history": "History sent by the client (not from Lotse)",
        "no_sources": "_No sources found._", "choose_first": "Choose a ticket first.",
        "taken_by": "{number} now belongs to {name}.", "empty_reply": "The reply is empty.",
        "sent": "Reply sent; the customer sees it in the chat.",
        "mail_failed": " **The e-mail to {to} was not sent** ({error}); please try again later "
                       "or reach the customer another way.",
        "mailed": " Sent by e-mail to {to}.",
        "proposed": "Proposed as FAQ (no. {id}): “{question}”. An admin reviews and approves it.",
        "unread_close": "**{n} new customer message(s)** since you opened the ticket. Please "
                        "read them; a second click closes it anyway.",
        "closed": "{number} closed ({how}).", "resolved": "resolved",
        "unresolved": "not resolved",
        "nothing_found": "_Nothing about this in the documents._",
        "sources": "Sources", "unsure": " · **unsure, please check the sources**",
        "certainty": "Confidence", "internal_mark": "internal",
        "blocked": "**Citation check:** {n} generated sentence(s) dropped.",
        "blocked_extractive": " Answer quoted from the sources.",
        "blocked_handoff": " Handed to the team.",
        "kpi_head": "| Conversations | Deflection | Handoffs | CSAT | First-contact resolution |"
                    " Latency p50 / p95 | Hallucinations blocked | Answered from team FAQ |",
        "advice_head": "| Advice conversations | Products recommended | Advice ended with the team |",
        "email_head": "| E-mails read | answered | to the team | to a ticket | not answered "
                      "(machines) | reply time p50 / p95 |",
        "ratings": "ratings", "closed_count": "closed", "in_generated": "in {n} generated answers",
        "col_reason": "Reason", "col_handoffs": "Handoffs", "col_day": "Day",
        "col_series": "Series", "col_count": "Count", "col_question": "Question",
        "col_examples": "Examples", "series_bot": "solved by the bot",
        "series_human": "handed to a person",
        "stats": "**Documents** {documents} · **Chunks** {chunks} · **Generation** "
                 "`{generation}` · **last ingest** {when} · **Embedder** `{embedder}`  \n"
                 "**Uploaded files** ({n}): {uploads}",
        "saved": "- saved: `{name}`", "refused": "- **refused**: {reason}",
        "pick_folder": "Please choose at least one folder.",
        "stage.load": "Reading files", "stage.embed": "Embedding",
        "report": "**Added** {added} · **Updated** {updated} · **Removed** {removed} · "
                  "**Unchanged** {unchanged} · **Failed** {failed}",
        "report_published": "{embedded} chunks embedded, {total} in the index, generation "
                            "`{generation}` published ({seconds:.1f} s).",
        "report_nothing": "{embedded} chunks embedded, {total} in the index, nothing to "
                          "publish ({seconds:.1f} s).",
        "report_failed": "- **failed** `{file}`: {reason}",
        "report_skipped": "- skipped `{file}`: {reason}",
        "report_warning": "- note `{file}`: {reason}",
        "tab_probe": "Retrieval test", "tab_knowledge": "Knowledge base",
        "probe_question": "A question as a customer would ask it",
        "probe_run": "Test",
        "probe_head": "Both views in {ms} ms · handoff below confidence {below}",
        "probe_handoff": "**Handed to the team** (reason: {reason})",
        "probe_answered": "**Answered** ({kind})",
        "probe_view_customer": "Customer view", "probe_view_agent": "Team view (with internal notes)",
        "probe_confidence": "confidence", "probe_cols": "source | section | audience | fused",
        "probe_no_hits": "No hits.",
        "web_heading": "### Web sources", "web_url": "Address (page, sitemap.xml or start page)",
        "web_mode": "Kind", "web_max_pages": "At most pages", "web_ingest": "Ingest",
        "web_bad_url": "{url} is not an http(s) address.",
        "docs_heading": "### Documents", "doc_filter": "Filter by source or title",
        "doc_columns": "Source|Title|Audience|Type|Language|Chunks|Changed|Status|Failure|"
                       "Cited (30 days)|helpful|not helpful",
        "doc_status_live": "live", "doc_status_excluded": "excluded",
        "doc_status_failed": "failed",
        "never_cited": "**Never cited in 30 days** ({n}): {sources}",
        "doc_pick_label": "Look at a document", "doc_pick": "Please choose a document first.",
        "doc_head": "**{title}** · `{source}` · {audience} · {status} · {chunks} chunks · "
                    "cited {cited}× ({helpful} helpful, {unhelpful} not)",
        "doc_failure": "**Last failure:** {reason}", "doc_no_chunks": "No chunks in the index.",
        "doc_exclude": "Exclude / include again", "doc_audience": "Audience",
        "doc_audience_apply": "Change audience", "doc_reingest": "Re-ingest",
        "doc_chunks": "Chunks as Lotse sees them",
        "schedule_heading": "### Schedule", "schedule_off": "No schedule (ingest.schedule_minutes "
        "is 0 and no web source has every_minutes).",
        "schedule_head": "| target | every | last run | next run |",
        "schedule_error": "error: {error}",
        "schedule_counts": "+{added} ~{updated} −{removed}, {failed} failed",
        "gen_heading": "### Generations",
        "gen_columns": "Generation|published|files|public|internal|live",
        "gen_rollback": "Back to the previous generation",
        "rolled_back": "Live now: `{generation}` (was `{was}`).",
        "audit_heading": "### Audit log", "audit_columns": "Time|who|action|target|details",
        "upload_folder": "Upload folder ({path})",
        "faq_item": "No. {id} · {by} · {question}", "faq_pick": "Choose a proposal first.",
        "faq_approved": "No. {id} approved and ingested: ", "faq_rejected": "No. {id} rejected.",
        "whoami": "Logged in as **{name}** ({role})",
        "no_right": "You are not allowed to do this.", "login_again": "Please log in again.",
        "problem": "**⚠ Not done:** {text}",
        "problem_throttled": "Too many requests in a short time; please try again in a moment. "
                             "<small>(Details: {detail})</small>",
        "problem_not_found": "That does not exist (any more). <small>(Details: {detail})</small>",
        "problem_forbidden": "That is not allowed. <small>(Details: {detail})</small>",
        "problem_too_large": "That is too large. <small>(Details: {detail})</small>",
        "problem_invalid": "That input does not work. <small>(Details: {detail})</small>",
        "problem_other": "That did not work. <small>(Details: {detail})</small>",
        "web_not_http": "That is not an http(s) address.",
        "web_host_unknown": "No name server knows the host {host}; please check the address.",
        "web_host_not_listed": "Lotse reads pages from {hosts} only (setting ingest.web_hosts); "
                               "{host} is not one of them.",
        "web_not_public": "{host} leads to an internal or non-public address; Lotse does not "
                          "read such addresses.",
        "gen_rollback_ask": "**Really go back?** Lotse then answers every customer from "
                            "generation `{to}` instead of `{live}`, at once.",
        "gen_rollback_confirm": "Yes, go back to this generation",
        "gen_rollback_cancel": "Cancel", "gen_rollback_cancelled": "Not rolled back.",
        "gen_rollback_none": "There is no earlier generation.",
    },
}
I18N = gr.I18n(**TEXTS)


def label(key: str):
    """A label translated in the browser."""
    return I18N(key)


def language_of(request: gr.Request | None) -> str:
    """German when the browser's first language is German, English otherwise."""
    header = (request.headers.get("accept-language", "") if request is not None else "") or ""
    return "de" if header.strip().lower().startswith("de") else "en"


def say(language: str, key: str, **values) -> str:
    """A server-written text in ``language``, filled with ``values``."""
    return TEXTS[language][key].format(**values)
