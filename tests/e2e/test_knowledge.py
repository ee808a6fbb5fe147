"""The staff's knowledge-base tabs in Debian's chromium: an admin crawls a local help
center, browses a page's chunks, excludes it and takes it back; an agent runs the
retrieval test."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import shot
from tests.e2e.test_story import LONG, staff_login
from bench.help_center import HelpCenter
from bench.servers import serve_ingested, stop, uvicorn_thread

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """A `lotse serve` of its own (this module changes its documents) and a help center."""
    site = HelpCenter.sample()
    with uvicorn_thread(site.app()) as site_url:
        proc, info = serve_ingested(tmp_path_factory.mktemp("knowledge-home"),
                                    LOTSE_INGEST__WEB_DELAY_SECONDS="0",
                                    LOTSE_INGEST__MAX_FILE_MB="0.5",
                                    LOTSE_INGEST__WEB_HOSTS='["127.0.0.1"]',
                                    LOTSE_INGEST__WEB_ALLOW_LOOPBACK="true")
        try:
            yield {**info, "site": site_url}
        finally:
            stop(proc)


def fill(page, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id} textarea, #{elem_id} input").first.fill(text)


def text_of(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def wait_for(page, elem_id: str, words: str) -> None:
    page.wait_for_function(f"document.querySelector('#{elem_id}')?.innerText.includes({words!r})",
                           timeout=LONG)


def test_an_admin_crawls_the_help_center_and_fixes_a_page(servers, browser):
    context, page = staff_login(browser, servers["url"], "admin", servers["logins"]["admin"])
    site = servers["site"]
    page.get_by_role("tab", name="Wissensbasis").click()
    fill(page, "web-url", site + "/")
    page.click("#web-ingest")
    wait_for(page, "web-report", "/gross")
    report = text_of(page, "web-report")
    assert "Neu 6" in report and "over the limit" in report and "robots.txt" in report
    shot(page, "12-admin-crawl")

    # The list shows the crawled pages; the filter narrows it to one.
    fill(page, "doc-filter", "hilfe/versand")
    page.locator("#doc-filter textarea, #doc-filter input").first.press("Enter")
    wait_for(page, "documents", f"{site}/hilfe/versand")
    assert f"{site}/hilfe/ruecksendung" not in text_of(page, "documents")
    picker = page.locator("#doc-pick input")
    picker.click()
    picker.fill("versand")
    page.get_by_role("option", name=f"{site}/hilfe/versand").click()
    wait_for(page, "doc-chunks", "12,90 €")
    chunks = text_of(page, "doc-chunks")
    assert "Cookies" not in chunks and "Newsletter" not in chunks  # main content only
    assert "aktiv" in text_of(page, "doc-head")
    shot(page, "13-admin-document")

    page.click("#doc-exclude")
    wait_for(page, "doc-head", "ausgeschlossen")
    wait_for(page, "audit", "exclude")
    assert "admin" in text_of(page, "audit")
    page.click("#doc-exclude")  # and back
    wait_for(page, "doc-head", "aktiv")
    wait_for(page, "audit", "include")
    context.close()


def test_a_content_gap_opens_the_retrieval_test_for_an_agent(servers, browser):
    # A customer's question the documents do not answer becomes a content gap.
    reply = httpx.post(f"{servers['url']}/v1/chat", timeout=60,
                       headers={"Authorization": f"Bearer {servers['tokens']['customer']}"},
                       json={"message": "Verkauft ihr auch Fahrräder?"}).json()
    assert reply["handoff"] and reply["handoff_reason"] == "low_confidence"
    context, page = staff_login(browser, servers["url"], "agent", servers["logins"]["agent"])
    assert not page.get_by_role("tab", name="Wissensbasis").is_visible()
    page.get_by_role("tab", name="KPIs").click()
    page.locator("#gaps [role=gridcell]").filter(has_text="Verkauft ihr auch Fahrräder?") \
        .first.click()
    page.wait_for_function("document.querySelector('#probe-question textarea, "
                           "#probe-question input')?.value.includes('Fahrräder')", timeout=LONG)
    assert page.locator("#probe-question").is_visible()  # the retrieval test's tab is open
    page.click("#probe-run")
    wait_for(page, "probe-result", "Teamsicht")
    result = text_of(page, "probe-result")
    assert "Kundensicht" in result and "Übergabe an das Team" in result
    assert "bm25" in result and "dense_sentence" in result and "Sicherheit" in result
    shot(page, "14-retrieval-test")
    context.close()
