"""What a user trial found on the customer page, in Debian's chromium: it opens in the
browser's language, shows none of Gradio's own icons and links, no label floats over the
conversation, and a streamed answer is read out once, whole."""

from __future__ import annotations

import pytest

from tests.e2e.test_a11y import _answered, _chat_page
from tests.e2e.test_story import LONG

pytestmark = pytest.mark.e2e


def _texts(page) -> dict:
    return {"title": page.locator("#title").inner_text(), "send": page.locator("#send").inner_text(),
            "human": page.locator("#human").inner_text(),
            "placeholder": page.locator("#question textarea").get_attribute("placeholder"),
            "lang": page.evaluate("document.documentElement.lang")}


def test_the_page_opens_in_the_browsers_language_and_the_switch_still_works(lotse_server,
                                                                            browser):
    url = lotse_server["url"]
    context, page = _chat_page(browser, url, locale="en-US")
    page.wait_for_function("document.querySelector('#send').innerText === 'Send'", timeout=LONG)
    english = _texts(page)
    assert "customer service" in english["title"] and english["human"] == "Talk to a person"
    assert english["placeholder"].startswith("Your question") and english["lang"] == "en"
    page.locator("#language label", has_text="de").click()  # the switch, back to German
    page.wait_for_function("document.querySelector('#send').innerText === 'Senden'", timeout=LONG)
    german = _texts(page)
    assert "Kundenservice" in german["title"] and german["human"] == "Mit Mitarbeiter sprechen"
    assert german["lang"] == "de"
    context.close()

    context, page = _chat_page(browser, url, locale="de-DE")
    page.wait_for_timeout(1500)  # the page load has answered by now
    assert _texts(page)["send"] == "Senden"
    page.locator("#language label", has_text="en").click()
    page.wait_for_function("document.querySelector('#send').innerText === 'Send'", timeout=LONG)
    context.close()


# Buttons Gradio adds on its own: share to its hub, clear the chat, copy all of it; and its
# footer (built with Gradio, use via API, settings).
CHROME = """() => {
    const visible = (e) => e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden';
    const tools = [...document.querySelectorAll('#chat .top-panel button, #chat .icon-button-wrapper.top-panel button')]
        .filter(visible).map((b) => b.getAttribute('aria-label') || b.title || 'unnamed');
    const footer = [...document.querySelectorAll('footer, footer a, footer button')].filter(visible)
        .map((e) => e.innerText.trim());
    const words = document.body.innerText;
    return {tools, footer, gradio: /built with gradio|use via api|einstellungen|settings/i.test(words)};
}"""


def test_no_gradio_chrome_a_customer_has_no_use_for(lotse_server, browser):
    context, page = _chat_page(browser, lotse_server["url"])
    page.fill("#question textarea", "Was kostet der Expressversand?")
    page.click("#send")
    _answered(page, "12,90")
    chrome = page.evaluate(CHROME)
    assert chrome == {"tools": [], "footer": [], "gradio": False}, chrome
    # The answer keeps what a customer uses: rating it and copying it.
    names = page.locator("#chat .message-buttons button").evaluate_all(
        "bs => bs.map(b => b.getAttribute('aria-label'))")
    assert "Gefällt mir" in names and "Gefällt mir nicht" in names
    context.close()


def test_no_label_floats_over_the_conversation(lotse_server, browser):
    context, page = _chat_page(browser, lotse_server["url"])
    page.fill("#question textarea", "Wie lange habe ich Zeit für eine Rücksendung?")
    page.click("#send")
    _answered(page, "30 Tage")
    overlaps = page.evaluate("""() => {
        const boxes = (sel) => [...document.querySelectorAll(sel)]
            .filter((e) => e.offsetParent !== null).map((e) => e.getBoundingClientRect());
        const log = document.querySelector('#chat [role=log]').getBoundingClientRect();
        const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        return boxes('#chat label, #chat [data-testid=block-label]').filter((l) => hit(l, log)).length;
    }""")
    assert overlaps == 0
    # The conversation is still named for assistive technology, in the page's language.
    assert page.locator("#chat [role=log]").get_attribute("aria-label") == "Gesprächsverlauf"
    context.close()


def test_a_streamed_answer_is_read_out_once_and_whole(lotse_server, browser):
    context, page = _chat_page(browser, lotse_server["url"])
    log = page.locator("#chat [role=log]")
    page.fill("#question textarea", "Wie schwer ist der AlpinPro 35?")
    page.click("#send")
    spoken = _answered(page, "1,25 kg")
    answer = page.locator("#chat .bot").last.inner_text()
    # The whole answer text, after who said it; the growing bubble itself is not read.
    assert spoken.startswith("Lotse: ") and spoken.split("[1]")[0][7:].strip() in answer
    assert log.get_attribute("aria-live") == "off"
    assert page.locator("#announce").get_attribute("role") == "status"
    assert not page.locator("#announce").is_visible() or \
        page.locator("#announce").bounding_box()["width"] <= 1  # for screen readers only
    context.close()
