"""Product advice in a real browser: the customer is asked one question with quick-reply
buttons, clicks one, gets product cards with their facts and sources, then asks for a
comparison and gets the side-by-side table."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import shot
from tests.e2e.test_conversation import _say
from tests.e2e.test_story import LONG, open_chat

pytestmark = pytest.mark.e2e

OPTIONS = "#chat button.option"
CARDS = "#chat .lotse-product"


def test_a_question_with_options_a_click_then_cards_and_a_comparison(lotse_server, browser):
    context, page = open_chat(browser, lotse_server["url"])
    _say(page, "Ich suche ein Zelt", "?")
    options = page.locator(OPTIONS)
    options.first.wait_for(timeout=LONG)
    labels = options.all_inner_texts()
    assert "2 Personen" in labels and len(labels) >= 3, labels
    shot(page, "advice-1-question")
    # Clicking sends the option as the customer's message; the buttons go away with it.
    page.get_by_role("button", name="2 Personen", exact=True).click()
    page.wait_for_function("document.querySelectorAll('#chat .message-row.user-row').length >= 2",
                           timeout=LONG)
    assert "2 Personen" in page.locator("#chat .message-row.user-row").last.inner_text()
    page.wait_for_function(
        "document.querySelectorAll('#chat .message-row.bot-row').length >= 2", timeout=LONG)
    assert page.get_by_role("button", name="2 Personen", exact=True).count() == 0
    # At most two more questions; "egal" to each, then the recommendation.
    for _ in range(3):
        page.wait_for_function(
            f"document.querySelector({CARDS!r}) || document.querySelector({OPTIONS!r})",
            timeout=LONG)
        if page.locator(CARDS).count():
            break
        asked = page.locator("#chat .message-row.user-row").count()
        page.get_by_role("button", name="egal", exact=True).click()
        page.wait_for_function(
            f"document.querySelectorAll('#chat .message-row.user-row').length > {asked}", timeout=LONG)
    page.locator(CARDS).first.wait_for(timeout=LONG)
    cards = page.locator(CARDS).all_inner_texts()
    assert cards and all("Personen" in c and "Quelle" in c and "produkte/" in c for c in cards)
    assert all("€" in c for c in cards), cards
    shot(page, "advice-2-cards")
    chat = _say(page, "Was ist der Unterschied zwischen Wiesentau 2 und Sommerbrise 3?",
                "Sommerbrise 3")
    table = page.locator("#chat .bot-row").last.locator("table")
    table.wait_for(timeout=LONG)
    text = table.inner_text()
    assert "Wiesentau 2" in text and "Sommerbrise 3" in text and "129" in text and "229" in text
    assert "Quellen" in chat
    shot(page, "advice-3-comparison")
    context.close()
