"""Accessibility of the chat page and the staff queue in Debian's chromium: axe-core finds
nothing serious or critical, and a keyboard alone does everything a mouse does. (The
widget's checks are in test_widget.py, next to its servers.)"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.a11y import axe_violations, focused, grave, tab_to
from tests.e2e.test_story import LONG

pytestmark = pytest.mark.e2e


def _chat_page(browser, url: str, locale: str = "de-DE"):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#question textarea", timeout=LONG)
    return context, page


def _answered(page, words: str) -> str:
    """Waits until the page's announcer has read out an answer containing ``words``."""
    page.wait_for_function(
        f"[...document.querySelectorAll('[aria-live=polite]')].some(e => e.textContent.includes({words!r}))",
        timeout=LONG)
    return page.locator("#announce").text_content().strip()


def test_the_chat_page_has_no_serious_accessibility_problems(lotse_server, browser):
    context, page = _chat_page(browser, lotse_server["url"])
    assert grave(axe_violations(page)) == []  # first open, with the example questions
    page.fill("#question textarea", "Was kostet der Expressversand?")
    page.click("#send")
    _answered(page, "12,90")
    page.locator("#chat details summary").first.click()  # a source card opened
    found = grave(axe_violations(page))
    assert found == [], found
    context.close()


def test_the_chat_page_works_with_the_keyboard_alone(lotse_server, browser):
    url, tokens = lotse_server["url"], lotse_server["tokens"]
    agent = {"Authorization": f"Bearer {tokens['agent']}"}
    ratings = httpx.get(f"{url}/v1/kpis", headers=agent).json()["ratings"]
    context, page = _chat_page(browser, url)
    tab_to(page, lambda f: f.startswith("textarea in #question"))
    page.keyboard.type("Was kostet der Expressversand?")
    page.keyboard.press("Enter")
    spoken = _answered(page, "12,90")
    assert spoken.startswith("Lotse:") and "Expressversand" in spoken
    # The answer's rating buttons are reachable and work with Enter.
    tab_to(page, lambda f: f.startswith("button") and f.endswith("|Gefällt mir"), key="Shift+Tab")
    page.keyboard.press("Enter")
    deadline = LONG / 1000
    while httpx.get(f"{url}/v1/kpis", headers=agent).json()["ratings"] == ratings:
        page.wait_for_timeout(250)
        deadline -= 0.25
        assert deadline > 0, "the thumbs up did not reach the server"
    tab_to(page, lambda f: f.startswith("button in #human"))
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#chat').innerText.includes('LT-0')",
                           timeout=LONG)
    assert "LT-0" in page.locator("#announce").text_content()  # read out, too
    context.close()


def _ticket(url: str, token: str) -> str:
    reply = httpx.post(f"{url}/v1/human", headers={"Authorization": f"Bearer {token}"},
                       json={"language": "de"}, timeout=30)
    reply.raise_for_status()
    return reply.json()["ticket"]


def _staff_by_keyboard(browser, url: str, password: str):
    """An agent logs in with the keyboard alone."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="de-DE")
    page = context.new_page()
    page.goto(url + "/staff/")
    assert page.url.endswith("/login")
    tab_to(page, lambda f: f.startswith("input in #name"))
    page.keyboard.type("agent")
    tab_to(page, lambda f: f.startswith("input in #password"))
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#whoami')?.innerText.includes('agent')",
                           timeout=LONG)
    return context, page


def test_the_staff_queue_works_with_the_keyboard_alone(lotse_server, browser):
    url = lotse_server["url"]
    number = _ticket(url, lotse_server["tokens"]["customer"])
    context, page = _staff_by_keyboard(browser, url, lotse_server["logins"]["agent"])
    page.wait_for_function(f"document.querySelector('#queue').innerText.includes('{number}')",
                           timeout=LONG)
    labels = page.locator("#queue label").all_inner_texts()
    position = next(i for i, text in enumerate(labels) if number in text)
    tab_to(page, lambda f: f.startswith("input in #queue"))
    page.keyboard.press("Space")
    for _ in range(position):
        page.keyboard.press("ArrowDown")
    page.wait_for_function(f"document.querySelector('#ticket-head').innerText.includes('{number}')",
                           timeout=LONG)
    tab_to(page, lambda f: f.startswith("button in #take"))
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#ticket-status').innerText.includes('gehört')",
                           timeout=LONG)
    tab_to(page, lambda f: f.startswith("textarea in #draft"), key="Shift+Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("Hallo, wir kümmern uns sofort darum.")
    tab_to(page, lambda f: f.startswith("button in #send-reply"))
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#ticket-status').innerText.includes('gesendet')",
                           timeout=LONG)
    status = page.locator("#ticket-status")
    assert status.get_attribute("aria-live") == "polite"  # the result is read out
    assert focused(page).startswith("button in #send-reply")  # the focus stayed put
    context.close()


def test_the_staff_queue_has_no_serious_accessibility_problems(lotse_server, browser):
    from tests.e2e.test_story import staff_login

    url = lotse_server["url"]
    number = _ticket(url, lotse_server["tokens"]["customer"])
    context, page = staff_login(browser, url, "agent", lotse_server["logins"]["agent"])
    page.wait_for_function(f"document.querySelector('#queue').innerText.includes('{number}')",
                           timeout=LONG)
    page.locator("#queue label", has_text=number).click()
    page.wait_for_function(f"document.querySelector('#ticket-head').innerText.includes('{number}')",
                           timeout=LONG)
    found = grave(axe_violations(page))
    assert found == [], found
    context.close()
