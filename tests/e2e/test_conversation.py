"""A conversation, not a ticket machine, in a real browser: small talk opens no ticket; after
a handoff the bot still answers (and the team's bubbles carry labels, not thumbs); outside
business hours the agent's reply reaches the customer by e-mail at a real SMTP server."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from bot.web.chat_cookie import COOKIE
from tests.e2e.conftest import settled_chat, shot
from tests.e2e.test_story import LONG, _ask, open_chat
from bench.servers import serve_ingested, smtp_server, stop

pytestmark = pytest.mark.e2e

# For every labelled bubble (team reply, notice) whether its rating buttons show, and
# the same for the bot's answers.
# (The buttons' labels follow the browser's language, so they are counted, not named: a
# rated bubble has copy, like and dislike.)
THUMBS = """() => [...document.querySelectorAll('#chat .message-row.bot-row')].map(row => {
    const panel = row.nextElementSibling;
    const shown = !!panel && panel.classList.contains('message-buttons')
        && getComputedStyle(panel).display !== 'none'
        && [...panel.querySelectorAll('button')].filter(b => b.offsetParent !== null).length >= 3;
    return [!!row.querySelector('.lotse-role'), shown];
})"""


def _say(page, text: str, expect: str) -> str:
    """Send ``text``, wait for ``expect`` and for the event to end (answers are revealed word
    by word); the chat's text then."""
    _ask(page, text)
    page.wait_for_function(f"document.querySelector('#chat').innerText.includes({expect!r})",
                           timeout=LONG)
    return settled_chat(page, LONG)


def _conversation(context, url: str, token: str) -> dict:
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
    sid, secret, _signature = cookie["value"].split(".")
    return httpx.get(f"{url}/v1/conversations/{sid}", headers={
        "Authorization": f"Bearer {token}", "X-Session-Secret": secret}).json()


def test_small_talk_opens_no_ticket_and_the_bot_stays_during_a_ticket(lotse_server, browser):
    url, token = lotse_server["url"], lotse_server["tokens"]["customer"]
    context, page = open_chat(browser, url)
    # The second message is sent while the first answer is still being revealed: it is
    # answered after it, not lost.
    _ask(page, "Hallo!")
    page.wait_for_function("document.querySelector('#chat').innerText.includes('Lotse')",
                           timeout=LONG)
    _say(page, "Wer bist du?", "kein Mensch")
    assert "KI-Assistent von" in page.locator("#chat").inner_text()
    chat = _say(page, "Danke dir!", "Gern geschehen")
    assert "LT-0" not in chat and _conversation(context, url, token)["ticket"] is None

    _say(page, "Ich möchte bitte mit einem Mitarbeiter sprechen", "LT-0")
    chat = _say(page, "Wie lange habe ich Zeit für eine Rücksendung?", "sieht auch diese Frage")
    answer = chat.split("LT-0", 1)[1]  # everything after the handoff
    assert "30 Tage" in answer and "[1]" in answer  # the bot's cited answer, not a receipt
    _say(page, "Meine Bestellnummer ist 4711", "angekommen")
    shot(page, "08-bot-answers-while-ticket-open")

    thumbs = page.evaluate(THUMBS)
    labelled = [shown for has_label, shown in thumbs if has_label]
    answers = [shown for has_label, shown in thumbs if not has_label]
    assert labelled and not any(labelled), thumbs  # receipts and notices: no thumbs
    assert answers and all(answers), thumbs  # the bot's answers can be rated
    state = _conversation(context, url, token)
    assert state["ticket"]["status"] == "open"
    customer_said = [m["text"] for m in state["messages"] if m["role"] == "customer"]
    assert "Wie lange habe ich Zeit für eine Rücksendung?" in customer_said
    assert "Meine Bestellnummer ist 4711" in customer_said  # the agent sees all of it
    context.close()


@pytest.fixture(scope="module")
def after_hours_server(tmp_path_factory):
    """A second `lotse serve` whose team is never in, sending e-mail to a real SMTP server."""
    with smtp_server() as smtp:
        proc, info = serve_ingested(
            tmp_path_factory.mktemp("after-hours-home"), LOTSE_HOURS__WEEKLY=json.dumps({}),
            LOTSE_MAIL__HOST="127.0.0.1", LOTSE_MAIL__PORT=str(smtp["port"]),
            LOTSE_MAIL__SECURITY="none", LOTSE_MAIL__SENDER="service@bergpfad.example")
        yield {**info, "smtp": smtp}
        stop(proc)


def test_out_of_hours_the_agents_reply_arrives_in_the_chat_and_by_email(after_hours_server,
                                                                       browser):
    url, smtp = after_hours_server["url"], after_hours_server["smtp"]
    context, page = open_chat(browser, url)
    chat = _say(page, "Ich möchte mit einem Mitarbeiter sprechen, mein Paket 7731 ist nicht "
                      "angekommen", "nicht erreichbar")
    assert "E-Mail-Adresse" in chat
    chat = _say(page, "jonas.berg@example.org", "j…@example.org")
    assert "jonas.berg@example.org" not in chat.split("Danke!")[-1]

    agent = {"Authorization": f"Bearer {after_hours_server['tokens']['agent']}"}
    [ticket] = httpx.get(f"{url}/v1/handoffs", headers=agent).json()
    started = time.monotonic()
    sent = httpx.post(f"{url}/v1/handoffs/{ticket['id']}/reply", headers=agent, timeout=30,
                      json={"text": "Hallo Jonas, Paket 7731 ist neu unterwegs."}).json()
    assert sent["emailed_to"] == "j…@example.org" and sent["mail_error"] is None
    page.wait_for_function("document.querySelector('#chat').innerText.includes('neu unterwegs')",
                           timeout=LONG)
    to_chat = time.monotonic() - started
    [(recipients, message)] = smtp["received"]
    assert recipients == ["jonas.berg@example.org"] and ticket["number"] in message["Subject"]
    assert "Paket 7731 ist neu unterwegs." in message.get_content()
    assert page.locator("#chat .lotse-agent").count() == 1
    shot(page, "09-after-hours-email")
    print(f"agent reply -> chat {to_chat:.2f} s")
    context.close()
