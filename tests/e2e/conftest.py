"""Browser tests: Debian's chromium driven by Playwright through executable_path.

Playwright never downloads a browser here; the project's setup installs chromium
with apt (see the Makefile). Tests skip with a clear reason when it is missing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from bench.servers import serve_ingested, stop

REPO = Path(__file__).resolve().parents[2]
# `make screenshots` points this at docs/screenshots/ on purpose; a plain test run keeps the
# checkout clean and leaves its pictures in a temporary folder.
SCREENSHOTS = Path(os.environ.get("LOTSE_SCREENSHOTS") or
                   tempfile.mkdtemp(prefix="lotse-screenshots-"))


@pytest.fixture(scope="session")
def lotse_server(tmp_path_factory):
    """A real `lotse serve` on the offline default embedder with docs_corpus ingested."""
    proc, info = serve_ingested(tmp_path_factory.mktemp("e2e-home"))
    yield info
    stop(proc)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="de-DE")
    pg = context.new_page()
    yield pg
    context.close()


def settled_chat(page, timeout: float = 60_000) -> str:
    """Wait until no event is writing to the chat, and return its text: Gradio hides the
    chat's status tracker (``#chat .wrap``) once the running event's last update is in
    (an answer revealed word by word, then its sources and buttons)."""
    page.wait_for_function("document.querySelector('#chat .wrap')?.classList.contains('hide')"
                           " ?? false", timeout=timeout)
    return page.locator("#chat").inner_text()


def animations_done(page, timeout: float = 10_000) -> None:
    """Wait until the page's finite CSS transitions and animations have run (Gradio fades
    updated outputs in); spinners that run forever do not count."""
    page.wait_for_function("document.getAnimations().every(a => a.playState !== 'running' "
                           "|| a.effect?.getComputedTiming().iterations === Infinity)",
                           timeout=timeout)


def shot(page, name: str) -> None:
    """A full-page screenshot once the page's fade-ins have run."""
    animations_done(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
