"""The staff side in a real browser: login rules, roles, and an admin's upload and re-ingest."""

import httpx
import pytest

from tests.e2e.conftest import shot
from tests.e2e.test_story import LONG, staff_login

pytestmark = pytest.mark.e2e

WINTER = ("---\ntitle: Winteraktion Schlafsäcke\ndoc_type: product\n---\n# Winteraktion\n\n"
          "Vom 1. Dezember bis 31. Januar gibt es mit dem Code WINTER26 15 Prozent Rabatt auf "
          "alle Schlafsäcke. Der Code gilt einmal pro Bestellung.\n")


def test_login_is_required_and_logout_ends_the_session(lotse_server, page):
    url = lotse_server["url"]
    assert httpx.get(f"{url}/staff/config").status_code == 401  # Gradio's API needs the login too
    page.goto(url + "/staff/")
    assert page.url.endswith("/login")
    page.fill("#name", "agent")
    page.fill("#password", "falsch")
    page.click("#login")
    assert "wrong password" in page.locator("#login-error").inner_text()
    shot(page, "08-staff-login")
    page.fill("#name", "agent")
    page.fill("#password", lotse_server["logins"]["agent"])
    page.click("#login")
    page.wait_for_function("document.querySelector('#whoami')?.innerText.includes('agent')",
                           timeout=LONG)
    assert not page.get_by_role("tab", name="Admin").is_visible()  # agents get no admin view
    page.click("#logout")
    page.click("#logout-confirm")  # logging out is a POST with a CSRF token
    page.wait_for_url("**/login", timeout=LONG)
    page.goto(url + "/staff/")
    assert page.url.endswith("/login")


def test_agent_copilot_sees_internal_notes(lotse_server, browser):
    context, staff = staff_login(browser, lotse_server["url"], "agent", lotse_server["logins"]["agent"])
    staff.get_by_role("tab", name="Copilot").click()
    staff.fill("#copilot-question textarea", "Welchen Gutscheincode geben wir bei Lieferverzögerungen?")
    staff.click("#copilot-ask")
    staff.wait_for_function("document.querySelector('#copilot-answer').innerText.includes('[1]')",
                            timeout=LONG)
    assert "intern" in staff.locator("#copilot-answer").inner_text()
    shot(staff, "09-agent-copilot")
    context.close()


def test_admin_uploads_a_file_reingests_and_customers_get_it(lotse_server, browser, tmp_path):
    url = lotse_server["url"]
    context, staff = staff_login(browser, url, "admin", lotse_server["logins"]["admin"])
    staff.get_by_role("tab", name="Admin").click()
    staff.wait_for_function("document.querySelector('#store-stats').innerText.includes('Generation')",
                            timeout=LONG)
    before = staff.locator("#store-stats").inner_text()
    upload = tmp_path / "winteraktion.md"
    upload.write_text(WINTER, encoding="utf-8")
    staff.set_input_files("#upload input[type=file]", str(upload))
    staff.wait_for_function("document.querySelector('#upload-result').innerText.includes('gespeichert: winteraktion.md')",
                            timeout=LONG)
    staff.click("#ingest")
    staff.wait_for_function("document.querySelector('#ingest-report').innerText.includes('Neu 1')",
                            timeout=LONG)
    report = staff.locator("#ingest-report").inner_text()
    assert "Fehlgeschlagen 0" in report and "veröffentlicht" in report
    after = staff.locator("#store-stats").inner_text()
    assert "winteraktion.md" in after and after != before
    shot(staff, "10-admin-reingest")  # after Gradio's fade-in of the updated outputs
    context.close()

    answer = httpx.post(f"{url}/v1/chat", timeout=60, json={
        "message": "Wie viel Rabatt gibt es auf Schlafsäcke?"},
        headers={"Authorization": f"Bearer {lotse_server['tokens']['customer']}"}).json()
    assert "WINTER26" in answer["answer"], answer
    assert answer["citations"][0]["source"] == "winteraktion.md"


def test_an_agent_sees_new_customer_messages_live_and_is_asked_before_closing(lotse_server,
                                                                              browser):
    url, tokens = lotse_server["url"], lotse_server["tokens"]
    customer = {"Authorization": f"Bearer {tokens['customer']}"}
    first = httpx.post(f"{url}/v1/chat", headers=customer, timeout=60,
                       json={"message": "Ich möchte mit einem Mitarbeiter sprechen"}).json()
    number, sid = first["ticket"], first["session_id"]
    owner = {**customer, "X-Session-Secret": first["session_secret"]}
    context, staff = staff_login(browser, url, "agent", lotse_server["logins"]["agent"])
    staff.wait_for_function(f"document.querySelector('#queue').innerText.includes('{number}')",
                            timeout=LONG)
    assert "● 1 neu" in staff.locator("#queue label", has_text=number).inner_text()
    staff.locator("#queue label", has_text=number).click()
    staff.wait_for_function(f"document.querySelector('#ticket-head').innerText.includes('{number}')",
                            timeout=LONG)
    # The customer writes again while the agent looks: it appears without a reload.
    httpx.post(f"{url}/v1/chat", headers=owner, timeout=60,
               json={"session_id": sid, "message": "Meine Bestellnummer ist 4711"})
    staff.wait_for_function("document.querySelector('#transcript').innerText.includes('4711')",
                            timeout=LONG)
    # A message that arrives after the last look makes closing ask first.
    httpx.post(f"{url}/v1/chat", headers=owner, timeout=60,
               json={"session_id": sid, "message": "Die Lieferadresse hat sich auch geändert"})
    staff.click("#close-resolved")
    staff.wait_for_function("document.querySelector('#ticket-status').innerText.includes('neue "
                            "Kundennachricht')", timeout=LONG)
    assert staff.locator("#queue label", has_text=number).count() == 1  # still open
    staff.click("#close-resolved")
    staff.wait_for_function("document.querySelector('#ticket-status').innerText.includes('geschlossen')",
                            timeout=LONG)
    context.close()


def test_the_staff_ui_speaks_english_to_an_english_browser(lotse_server, browser):
    url = lotse_server["url"]
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.goto(url + "/staff/")
    page.fill("#name", "agent")
    page.fill("#password", lotse_server["logins"]["agent"])
    page.click("#login")
    page.wait_for_function("document.querySelector('#whoami')?.innerText.includes('Logged in as')",
                           timeout=LONG)
    text = page.locator("body").inner_text()
    assert "Queue (open and in progress)" in text and "Send reply" in text
    assert "Warteschlange" not in text and "Antwort senden" not in text
    page.get_by_role("tab", name="KPIs").click()
    page.wait_for_function("document.querySelector('#kpi-numbers').innerText.includes("
                           "'Conversations')", timeout=LONG)
    assert "Gespräche" not in page.locator("#kpi-numbers").inner_text()
    context.close()
