"""The chat widget on a shop page of another origin, in Debian's chromium."""

from __future__ import annotations

import dataclasses
import logging
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bench.servers import free_port, lotse_api, uvicorn_thread

SHOP_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Bergpfad Shop</h1>{script}</body></html>"""


def shop(lotse_url: str, token: str, lang: str = "de", widget: bool = True) -> Starlette:
    script = (f'<script src="{lotse_url}/widget.js" data-token="{token}" data-color="#aa3300" '
              f'defer></script>') if widget else ""
    page = SHOP_PAGE.format(lang=lang, script=script)
    return Starlette(routes=[Route("/", lambda request: HTMLResponse(page))])


@pytest.fixture(scope="module")
def servers(default_engine, tmp_path_factory):
    """Lotse on one origin; the shop's pages on two others, one allowed to embed it."""
    shop_port, other_port = free_port(), free_port()
    settings = default_engine.settings.model_copy(deep=True)
    settings.server.widget_origins = [f"http://127.0.0.1:{shop_port}"]
    engine = dataclasses.replace(default_engine, settings=settings)
    # What the server logs about pages it refuses, over the whole module (it warns once
    # per origin, whichever test loads such a page first).
    warned = _Kept()
    logging.getLogger("lotse.widget").addHandler(warned)
    with lotse_api(engine, tmp_path_factory.mktemp("widget"), []) as api:
        token = api["creds"].token_for("customer")
        with uvicorn_thread(shop(api["url"], token), port=shop_port) as shop_url, \
                uvicorn_thread(shop(api["url"], token, lang="en"), port=other_port) as other_url, \
                uvicorn_thread(shop(api["url"], token, widget=False)) as bare_url:
            yield {"api": api, "shop": shop_url, "other": other_url, "bare": bare_url,
                   "warned": warned.messages}
    logging.getLogger("lotse.widget").removeHandler(warned)


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _widget(page):
    return page.locator("div[data-lotse-widget]")


def test_the_widget_answers_with_sources_and_resumes_after_a_reload(page, servers):
    page.goto(servers["shop"])
    page.locator("div[data-lotse-widget] .bubble").click()
    page.locator("div[data-lotse-widget] input").fill("Was kostet der Expressversand?")
    page.locator("div[data-lotse-widget] .send").click()
    answer = page.locator("div[data-lotse-widget] .msg.bot").last
    answer.locator(".src").wait_for(timeout=20_000)
    assert "12,90 €" in answer.inner_text() and "Quellen: [1]" in answer.inner_text()
    assert page.locator("div[data-lotse-widget] header").inner_text().startswith("Fragen?")
    answer.locator(".thumbs button").first.click()
    page.locator("div[data-lotse-widget] .thumbs").get_by_text("Danke").wait_for()
    page.reload()
    page.locator("div[data-lotse-widget] .msg.bot").first.wait_for(timeout=10_000)
    texts = page.locator("div[data-lotse-widget] .msg").all_inner_texts()
    assert texts[0] == "Was kostet der Expressversand?" and "12,90 €" in texts[1]
    assert _widget(page).count() == 1


def test_a_person_is_asked_for_and_the_agents_reply_appears(page, servers):
    page.goto(servers["shop"])
    page.locator("div[data-lotse-widget] .bubble").click()
    page.locator("div[data-lotse-widget] .human").click()
    notice = page.locator("div[data-lotse-widget] .msg.bot").last
    notice.wait_for(timeout=20_000)
    api = servers["api"]
    agent = {"Authorization": f"Bearer {api['creds'].token_for('agent')}"}
    deadline = time.monotonic() + 10
    tickets = []
    while not tickets:
        assert time.monotonic() < deadline
        tickets = [t for t in httpx.get(f"{api['url']}/v1/handoffs", headers=agent).json()
                   if t["number"] in notice.inner_text()]
    httpx.post(f"{api['url']}/v1/handoffs/{tickets[0]['id']}/reply", headers=agent,
               json={"text": "Hallo, hier ist Jana vom Service."}).raise_for_status()
    page.locator("div[data-lotse-widget] .msg.agent").wait_for(timeout=15_000)
    assert "Jana vom Service" in page.locator("div[data-lotse-widget] .msg.agent").inner_text()


def test_it_adds_nothing_to_the_pages_globals_and_follows_the_page_language(page, servers):
    page.goto(servers["bare"])
    bare = set(page.evaluate("Object.keys(window)"))
    page.goto(servers["shop"])
    page.locator("div[data-lotse-widget] .bubble").wait_for()
    assert set(page.evaluate("Object.keys(window)")) == bare
    added = page.evaluate("[...document.body.children].map(e => e.tagName)")
    assert added == ["H1", "SCRIPT", "DIV"]  # the shop's own two, and the widget's one
    page.goto(servers["other"])  # lang="en"
    page.locator("div[data-lotse-widget] .bubble").click()
    assert page.locator("div[data-lotse-widget] .human").inner_text() == "Talk to a person"


def test_a_page_that_may_not_use_it_is_told_so_honestly(page, servers):
    """A page whose origin is not in server.widget_origins: the browser refuses the REST
    calls (CORS), and the widget says why, not "no connection"; its developer reads the
    setting in the console, the operator in the server's log."""
    console = []
    page.on("console", lambda m: console.append((m.type, m.text)))
    page.goto(servers["other"])
    page.locator("div[data-lotse-widget] .bubble").click()
    notice = page.locator("div[data-lotse-widget] .msg.notice")
    notice.wait_for(timeout=10_000)
    assert "not switched on for this page" in notice.inner_text()
    assert "Cannot reach" not in page.locator("div[data-lotse-widget] .log").inner_text()
    assert page.locator("div[data-lotse-widget] input").is_disabled()
    errors = [text for kind, text in console if kind == "error" and "Lotse widget" in text]
    assert errors and servers["other"] in errors[0] and "server.widget_origins" in errors[0]
    assert "LOTSE_SERVER__WIDGET_ORIGINS" in errors[0]
    logged = servers["warned"]
    assert any(servers["other"] in m and "server.widget_origins" in m for m in logged), logged
    # The allowed page is not refused, and nothing is logged for it.
    assert not any(servers["shop"] in m for m in logged)


def test_quick_replies_and_rating_buttons_like_the_chat_page(page, servers):
    page.goto(servers["shop"])
    widget = page.locator("div[data-lotse-widget]")
    widget.locator(".bubble").click()
    widget.locator("input").fill("Ich suche ein Zelt")
    widget.locator(".send").click()
    replies = widget.locator(".quick button")
    replies.first.wait_for(timeout=20_000)
    assert "2 Personen" in replies.all_inner_texts()
    answer = widget.locator(".msg.bot").first
    names = answer.locator(".thumbs button").evaluate_all(
        "bs => bs.map(b => b.getAttribute('aria-label'))")
    assert names == ["Hilfreich", "Nicht hilfreich"]
    asked = answer.inner_text()
    widget.get_by_role("button", name="2 Personen", exact=True).click()
    widget.locator(".msg.customer").filter(has_text="2 Personen").wait_for(timeout=10_000)
    assert widget.locator(".msg.bot").count() == 2
    widget.locator(".msg.bot").nth(1).locator(".thumbs").wait_for(timeout=20_000)
    assert widget.get_by_role("button", name="2 Personen", exact=True).count() == 0  # gone
    # The clicked reply went as a choice: the conversation continues with the advice.
    assert widget.locator(".msg.bot").nth(1).inner_text() != asked


def test_the_widget_has_no_serious_accessibility_problems(page, servers):
    from tests.e2e.a11y import axe_violations, grave

    page.goto(servers["shop"])
    widget = page.locator("div[data-lotse-widget]")
    widget.locator(".bubble").click()
    widget.locator("input").fill("Was kostet der Expressversand?")
    widget.locator(".send").click()
    widget.locator(".msg.bot .thumbs").last.wait_for(timeout=20_000)
    found = grave(axe_violations(page))
    assert found == [], found


def test_the_widget_works_with_the_keyboard_alone(page, servers):
    from tests.e2e.a11y import focused, tab_to

    page.goto(servers["shop"])
    widget = page.locator("div[data-lotse-widget]")
    widget.locator(".bubble").wait_for()
    tab_to(page, lambda f: f.startswith("button") and "Chat öffnen" in f)
    page.keyboard.press("Enter")
    assert widget.locator(".bubble").get_attribute("aria-expanded") == "true"
    assert focused(page).startswith("input")  # straight into the question box
    page.keyboard.type("Was kostet der Expressversand?")
    page.keyboard.press("Enter")
    widget.locator(".msg.bot .thumbs").last.wait_for(timeout=20_000)
    spoken = widget.locator("[role=status]").text_content()
    assert spoken.startswith("Lotse: ") and "12,90 €" in spoken  # read out once, whole
    assert widget.locator(".log").get_attribute("aria-live") == "off"
    tab_to(page, lambda f: f.endswith("|Hilfreich"), key="Shift+Tab")
    page.keyboard.press("Enter")
    widget.locator(".thumbs").get_by_text("Danke").wait_for(timeout=10_000)
    page.keyboard.press("Escape")
    assert not widget.locator(".panel").is_visible()
    assert "Chat öffnen" in focused(page)  # the focus is back on the bubble


def test_preflight_is_answered_only_for_the_allowed_origin(servers):
    url = f"{servers['api']['url']}/v1/chat"
    ask = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type,x-session-secret"}
    allowed = httpx.options(url, headers={"Origin": servers["shop"], **ask})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == servers["shop"]
    assert "access-control-allow-credentials" not in allowed.headers  # no cookies involved
    refused = httpx.options(url, headers={"Origin": servers["other"], **ask})
    assert "access-control-allow-origin" not in refused.headers
    js = httpx.get(f"{servers['api']['url']}/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "data-lotse-widget" in js.text
