"""The shop's vocabulary file helps customers' words find the documents' terms, and the
answerer still works on a corpus that has no such file."""

from __future__ import annotations

import shutil

import pytest

from bot.wiring import build_engine
from kb.settings import LotseSettings
from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def without_file(tmp_path_factory, use_embedder):
    home = tmp_path_factory.mktemp("no-vocabulary")
    corpus = home / "corpus"
    shutil.copytree(CORPUS, corpus, ignore=shutil.ignore_patterns("eval", "lotse-vocabulary.yaml"))
    # What the vocabulary file changes in the answers, not whether the gate lets them through.
    engine = build_engine(LotseSettings(home=home, store={"refresh_seconds": 0}, answer={
        "handoff_below": 0.0, "suggest_above": 0.0}), embedder=use_embedder)
    engine.syncer.sync([corpus])
    return engine


def test_an_everyday_word_finds_the_shops_term_through_the_file(default_engine):
    # The shop sells four headlamps now: the answer gives each one's brightness, cited.
    answer = default_engine.chain.ask("Wie hell ist eure Taschenlampe?")
    assert not answer.handoff and "400 Lumen" in answer.text
    sources = [c.source for c in answer.citations]
    assert "produkte/stirnlampe-lumen-400.md" in sources
    assert all(s.startswith("produkte/") for s in sources) and len(sources) >= 2


@pytest.mark.parametrize("question, fact", [
    ("Wie lange habe ich Zeit für eine Rücksendung?", "30 Tage"),
    ("How long do I have to return something?", "30 Tage"),
    ("Was kostet der Versand nach Graz?", "Österreich"),
    ("Wie schwer ist der AlpinPro 35?", "1,25 kg"),
])
def test_without_the_file_general_questions_are_answered_as_before(without_file, question, fact):
    assert without_file.store.current().info["vocabulary"] == {}
    answer = without_file.chain.ask(question)
    assert not answer.handoff and fact in answer.text, answer.text
