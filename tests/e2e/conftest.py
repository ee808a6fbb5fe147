"""Browser tests: Debian's chromium driven by Playwright through executable_path.

Playwright never downloads a browser here; the project's setup installs chromium
with apt (see the Makefile). Tests skip with a clear reason when it is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.servers import start_lotse_serve

REPO = Path(__file__).resolve().parents[2]
# `make screenshots` points this at docs/screenshots/ on purpose; a plain test run keeps the
# checkout clean and leaves its pictures in a temporary folder.
SCREENSHOTS = Path(os.environ.get("LOTSE_SCREENSHOTS") or
                   tempfile.mkdtemp(prefix="lotse-screenshots-"))
CHROMIUM = os.environ.get("LOTSE_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def lotse_server(tmp_path_factory):
    """A real `lotse serve` on the offline default embedder with docs_corpus ingested."""
    home = tmp_path_factory.mktemp("e2e-home")
    env = {**os.environ, "LOTSE_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(REPO / "docs_corpus")],
                   env=env, check=True, capture_output=True, cwd=REPO)
    proc, url, banner = start_lotse_serve(env)
    logins = dict(re.findall(r"login '(\w+)' \(\w+\): (\S+)", banner))
    tokens = dict(re.findall(r"REST token \((\w+)\): (\S+)", banner))
    yield {"url": url, "logins": logins, "tokens": tokens, "home": home}
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"Debian chromium not found at {CHROMIUM}: run `make system-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="de-DE")
    pg = context.new_page()
    yield pg
    context.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
