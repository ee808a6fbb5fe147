"""Shared fixtures: all state goes to tmp dirs, fakes are small and deterministic."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from kb.embedders import FakeEmbedder
from kb.settings import LotseSettings

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "docs_corpus"
# Tests must not depend on the hour they run at: the team is "always in" unless a test
# sets business hours of its own (servers started by tests inherit this too).
ALWAYS_OPEN = json.dumps({day: "00:00-24:00" for day in
                          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
os.environ.setdefault("LOTSE_HOURS__WEEKLY", ALWAYS_OPEN)
# The sample shop's own risk setting (a shop sets its own, `answer.handoff_below`): the tests
# of channels, staff views and admin routes assume it answers its FAQ. The shipped default,
# chosen on the corpora, is what `make eval`, `bench.corpora --check` and
# tests/bot/answer/test_answerability.py run with (they set or clear this themselves).
os.environ.setdefault("LOTSE_ANSWER__HANDOFF_BELOW", "0.3")
# huggingface_hub reads this once, when it is first imported (gradio imports it while the
# test modules are collected, before any per-test setting): offline from the start, or
# building a request header asks huggingface.co for its agent registry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The model cache (kb.model_cache) starts empty and stays out of the user's ~/.cache: the
# first model load of a run writes it, every later one (servers and workers too) reads it.
_CACHE = tempfile.mkdtemp(prefix="lotse-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

# The fast tier (`make test-fast`, marker "fast"): tests that need no ingested corpus, no
# real embedder, no server and no browser. A fast test that asks for a heavy fixture is a
# collection error, so the tier cannot slow down unnoticed.
FAST = ("tests/unit", "tests/kb/test_text.py", "tests/ingest/test_loaders.py",
        "tests/ingest/test_progress.py", "tests/bot/answer/test_followup.py",
        "tests/bot/answer/test_handoff.py", "tests/bot/chat/test_pii.py",
        "tests/bot/chat/test_analytics.py", "tests/bot/chat/test_admin.py",
        "tests/bot/chat/test_hours.py", "tests/kb/test_vocabulary.py",
        "tests/bot/chat/test_accounts.py", "tests/bot/chat/test_calibration.py",
        "tests/unit/test_gazetteer.py", "tests/bot/answer/test_route.py",
        "tests/security/test_crawl_ssrf.py", "tests/security/test_markup.py",
        "tests/kb/test_memory_bounds.py", "tests/bot/chat/test_history_bound.py")
HEAVY_FIXTURES = {"default_engine", "use_embedder", "browser", "page", "lotse_server"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        where = Path(item.fspath).resolve().relative_to(REPO).as_posix()
        if not any(where == f or where.startswith(f"{f}/") for f in FAST):
            continue
        heavy = HEAVY_FIXTURES & set(item.fixturenames)
        if heavy:
            raise pytest.UsageError(f"{item.nodeid} is in the fast tier but uses {sorted(heavy)}")
        item.add_marker(pytest.mark.fast)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Point LOTSE_HOME at a temp dir so no test touches ./.lotse, and keep lotse.toml out."""
    monkeypatch.setenv("LOTSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOTSE_CONFIG", str(tmp_path / "no-such-lotse.toml"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def settings(tmp_path) -> LotseSettings:
    return LotseSettings(home=tmp_path / "home", embedding={"mode": "fake"},
                         store={"refresh_seconds": 0})


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A private copy of docs_corpus/ that a test may change."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest, ignore=shutil.ignore_patterns("eval"))
    return dest


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` on a free loopback port, shared by the session (tests keep apart
    by collection prefix)."""
    from bench.servers import free_port

    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("chroma run did not start")
            time.sleep(0.3)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL for the session (a throwaway cluster in /tmp, whose path the
    ``postgres`` user can reach, unlike pytest's private tmp dirs)."""
    import tempfile

    from bench.servers import postgres_server

    folder = Path(tempfile.mkdtemp(prefix="lotse-pg-"))
    try:
        with postgres_server(folder) as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def use_embedder():
    """The real offline default embedder, loaded once per test session."""
    from kb.embedders import UseEmbedder

    return UseEmbedder(threads=2)


@pytest.fixture(scope="session")
def default_engine(tmp_path_factory, use_embedder):
    """docs_corpus/ ingested once with the offline default embedder, shared read-only."""
    from bot.wiring import build_engine

    home = tmp_path_factory.mktemp("default-home")
    engine = build_engine(LotseSettings(home=home), embedder=use_embedder)
    report = engine.syncer.sync([CORPUS])
    assert report.published and not report.failed, report.summary()
    return engine


@pytest.fixture
def answering(default_engine, monkeypatch):
    """``default_engine`` with the answer gate open (every answer the documents give is
    given): for tests of how an answer is composed, not of whether it is given, which the
    trained answerability model decides (tests/bot/answer/test_route.py and the corpora)."""
    monkeypatch.setattr(default_engine.chain.settings, "handoff_below", 0.0)
    monkeypatch.setattr(default_engine.chain.settings, "suggest_above", 0.0)
    return default_engine


CHROMIUM = os.environ.get("LOTSE_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, driven by Playwright through executable_path; one per session,
    shared by the browser tests and the security suite."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"Debian chromium not found at {CHROMIUM}: run `make system-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Tests load pages from 127.0.0.1 only; even with background networking off,
        # Chromium looks up Google's update, account and autofill hosts: no name resolves.
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"])
        yield b
        b.close()
