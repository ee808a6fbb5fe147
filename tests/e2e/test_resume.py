"""A conversation lives in the browser's cookie, not in the tab: a reload resumes it with
the agent's reply, and another browser never sees it."""

import httpx
import pytest

from bot.web.chat_cookie import COOKIE
from tests.e2e.conftest import settled_chat
from tests.e2e.test_story import LONG, _ask, open_chat

pytestmark = pytest.mark.e2e


def test_a_reload_resumes_the_chat_and_its_ticket_and_strangers_see_nothing(lotse_server,
                                                                             browser):
    url = lotse_server["url"]
    context, page = open_chat(browser, url, height=900)
    _ask(page, "Ich möchte mit einem Mitarbeiter sprechen, es geht um Bestellung 5521")
    page.wait_for_function("document.querySelector('#chat')?.innerText.includes('LT-0')",
                           timeout=LONG)
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["secure"]

    # An agent answers while the customer's tab is closed.
    agent = {"Authorization": f"Bearer {lotse_server['tokens']['agent']}"}
    ticket = next(t for t in httpx.get(f"{url}/v1/handoffs", headers=agent).json()
                  if "5521" in " ".join(m["text"] for m in t["transcript"]))
    httpx.post(f"{url}/v1/handoffs/{ticket['id']}/reply", headers=agent,
               json={"text": "Hallo, Bestellung 5521 ist unterwegs."})
    page.close()

    page = context.new_page()  # same browser, new tab: the conversation comes back
    page.goto(url + "/")
    page.wait_for_function("document.querySelector('#chat')?.innerText.includes('5521 ist unterwegs')",
                           timeout=LONG)
    text = page.locator("#chat").inner_text()
    assert "Bestellung 5521" in text and ticket["number"] in text
    _ask(page, "Danke!")  # and it goes on in the same conversation
    page.wait_for_function("document.querySelector('#chat')?.innerText.includes('Gern geschehen')",
                           timeout=LONG)

    stranger = browser.new_context(locale="de-DE").new_page()
    stranger.goto(url + "/")
    stranger.wait_for_selector("#question textarea", timeout=LONG)
    # The page's load event has given this browser its own conversation (its id is in the
    # privacy note) and with it whatever that conversation holds: nothing of the other's.
    stranger.wait_for_function("document.querySelector('#privacy code')?.innerText.length > 0",
                               timeout=LONG)
    assert "5521" not in settled_chat(stranger, LONG)
    context.close()
