"""The customer's story in a real browser."""

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e


def _ask(page, text: str) -> None:
    page.fill("#question textarea", text)
    page.click("#send")


def test_customer_gets_a_cited_answer_and_a_follow_up(lotse_server, page):
    page.goto(lotse_server["url"] + "/")
    page.wait_for_selector("#question textarea")
    shot(page, "01-chat-first-open")
    _ask(page, "Wie schwer ist der AlpinPro 35?")
    page.wait_for_function("document.querySelectorAll('#chat summary').length >= 1",
                           timeout=60_000)
    answer = page.locator("#chat").inner_text()
    assert "1,25 kg" in answer and "[1]" in answer and "AlpinPro 35 – Wanderrucksack" in answer
    shot(page, "02-cited-answer")
    _ask(page, "Und in Größe L?")
    page.wait_for_function("document.querySelectorAll('#chat summary').length >= 2",
                           timeout=60_000)
    follow_up = page.locator("#chat").inner_text().split("Und in Größe L?")[-1]
    assert "Größe L" in follow_up and "AlpinPro 35" in follow_up  # product carried over
    shot(page, "03-follow-up")
