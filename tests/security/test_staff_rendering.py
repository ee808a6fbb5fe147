"""What a customer writes is data in every staff view: no image, link or form comes out of
it, and nothing in it can log an agent out."""

from __future__ import annotations

import httpx
import pytest

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
    started = httpx.post(f"{url}/v1/chat", timeout=30, json={"message": HOSTILE},
                         headers={"Authorization": f"Bearer {target['tokens']['customer']}",
                                  "X-Forwarded-For": "192.0.2.45"})
    assert started.json()["ticket"], started.text
    number = started.json()["ticket"]

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
    # Still logged in: a reload shows the staff page, not the login form.
    page.reload()
    page.wait_for_selector("#queue", timeout=LONG)
    assert "/login" not in page.url
    context.close()
