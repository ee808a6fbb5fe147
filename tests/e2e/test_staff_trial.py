"""What a user trial found on the staff page, in Debian's chromium: a refused web ingest is
one note in the page's language next to its button (no red "Fehler" on every output, no
English pop-up), times carry the business time zone, a rollback asks first, and table
headers break between words only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.test_story import LONG, staff_login
from bench.servers import REPO, serve_ingested, stop

pytestmark = pytest.mark.e2e
ZONE = "Asia/Tokyo"  # far from the server's UTC, and without daylight saving time


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A `lotse serve` of its own (a rollback changes its store) with two generations, on
    the fake embedder (what is asked here needs no good retrieval), in Tokyo's time."""
    home, corpus = tmp_path_factory.mktemp("trial-home"), tmp_path_factory.mktemp("trial") / "docs"
    shutil.copytree(REPO / "docs_corpus", corpus, ignore=shutil.ignore_patterns("eval"))
    env = {"LOTSE_EMBEDDING__MODE": "fake", "LOTSE_HOURS__TIMEZONE": ZONE}
    import os

    subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(corpus)], check=True,
                   capture_output=True, cwd=REPO,
                   env={**os.environ, "LOTSE_HOME": str(home), **env})
    (corpus / "aktion.md").write_text("# Aktion\n\nIm Dezember ist der Versand frei.\n",
                                      encoding="utf-8")
    proc, info = serve_ingested(home, corpus, **env)
    try:
        yield info
    finally:
        stop(proc)


def _admin(server, browser, locale: str = "de-DE"):
    if locale == "de-DE":
        return staff_login(browser, server["url"], "admin", server["logins"]["admin"])
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale=locale)
    page = context.new_page()
    page.goto(server["url"] + "/staff/")
    page.fill("#name", "admin")
    page.fill("#password", server["logins"]["admin"])
    page.click("#login")
    page.wait_for_selector("#queue", timeout=LONG)
    return context, page


def _generations(server) -> list[dict]:
    return httpx.get(f"{server['url']}/v1/admin/generations", timeout=30, headers={
        "Authorization": f"Bearer {server['tokens']['admin']}"}).json()


def _live(server) -> str:
    return next(g["generation"] for g in _generations(server) if g["live"])


@pytest.mark.parametrize("locale, note, reason", [
    ("de-DE", "Nicht ausgeführt", "nicht öffentlichen Adresse"),
    ("en-US", "Not done", "non-public address"),
])
def test_a_refused_web_ingest_is_one_note_in_the_pages_language(server, browser, locale, note,
                                                               reason):
    context, page = _admin(server, browser, locale)
    page.get_by_role("tab", name="Wissensbasis" if locale == "de-DE" else "Knowledge base").click()
    page.wait_for_function("document.querySelector('#documents')?.innerText.includes('.md')",
                           timeout=LONG)
    page.locator("#web-url textarea, #web-url input").first.fill("http://10.0.0.1/hilfe")
    page.click("#web-ingest")
    page.wait_for_function(f"document.querySelector('#web-report').innerText.includes({note!r})",
                           timeout=LONG)
    page.wait_for_timeout(1500)  # anything else the click does has happened by now
    report = page.locator("#web-report").inner_text()
    assert reason in report and "10.0.0.1" in report
    body = page.locator("body").inner_text()
    assert body.count(reason) == 1  # once, in the report, nowhere else
    assert page.locator(".toast-body").count() == 0  # no pop-up
    assert "refused: address not allowed" not in body  # the service's English log words
    # The other outputs keep what they showed: no error badge on any of them.
    for part in ("#documents", "#never-cited", "#generations", "#audit", "#doc-pick"):
        assert page.locator(part).locator(".error").count() == 0, part
    assert ".md" in page.locator("#documents").inner_text()
    assert page.locator("#web-report").get_attribute("aria-live") == "polite"
    context.close()


def test_times_show_the_business_time_zone_by_name(server, browser):
    newest = _generations(server)[0]
    local = datetime.fromtimestamp(newest["published_at"], ZoneInfo(ZONE))
    shown = f"{local:%d.%m.%Y %H:%M} JST"
    context, page = _admin(server, browser)
    page.get_by_role("tab", name="Wissensbasis").click()
    page.wait_for_function(f"document.querySelector('#generations')?.innerText.includes({shown!r})",
                           timeout=LONG)
    assert "JST" in page.locator("#audit").inner_text()
    context.close()


def test_a_rollback_asks_first_and_names_both_generations(server, browser):
    before = _live(server)
    older = [g["generation"] for g in _generations(server) if not g["live"]][0]
    context, page = _admin(server, browser)
    page.get_by_role("tab", name="Wissensbasis").click()
    page.click("#rollback")
    page.wait_for_function("document.querySelector('#rollback-question')?.innerText.includes('Wirklich')",
                           timeout=LONG)
    question = page.locator("#rollback-question").inner_text()
    assert before in question and older in question
    assert _live(server) == before  # one click changed nothing
    page.click("#rollback-cancel")
    page.wait_for_function("document.querySelector('#rollback-result').innerText.includes('Nicht')",
                           timeout=LONG)
    assert not page.locator("#rollback-confirm").is_visible() and _live(server) == before
    page.click("#rollback")
    page.locator("#rollback-confirm").click()
    page.wait_for_function("document.querySelector('#rollback-result').innerText.includes('Aktiv ist jetzt')",
                           timeout=LONG)
    assert _live(server) == older
    context.close()


# For each visible table header: the words whose letters the layout put on two lines.
BROKEN_WORDS = """(scope) => {
    const broken = [];
    for (const th of document.querySelectorAll(`${scope} th`)) {
        if (th.offsetParent === null) continue;
        const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const re = /\\S+/g;
            let m;
            while ((m = re.exec(node.data))) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0)
                                      .map((r) => Math.round(r.top)));
                if (lines.size > 1) broken.push(m[0]);
            }
        }
    }
    return broken;
}"""


def test_table_headers_break_between_words_only(server, browser):
    context, page = _admin(server, browser)
    page.get_by_role("tab", name="KPIs").click()
    page.wait_for_function("document.querySelector('#kpi-numbers')?.innerText.includes('Gespräche')",
                           timeout=LONG)
    assert page.evaluate(BROKEN_WORDS, "#kpi-numbers") == []
    page.get_by_role("tab", name="Wissensbasis").click()
    page.wait_for_function("document.querySelector('#documents')?.innerText.includes('.md')",
                           timeout=LONG)
    for table in ("#documents", "#generations", "#audit"):
        assert page.evaluate(BROKEN_WORDS, table) == [], table
    context.close()
