"""Shared fixtures: all state goes to tmp dirs, fakes are small and deterministic."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.embedders import FakeEmbedder
from kb.settings import LotseSettings

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "docs_corpus"


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
