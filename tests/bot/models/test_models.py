"""The fitted artifacts in bot/models: made from train and dev data only, each with a card,
small, and computed from the same feature functions that serve them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from bot.understand.answer_features import ANSWER_FEATURES, UNIT_FEATURES
from bot.understand.linear import MODELS, LinearModel

REPO = Path(__file__).resolve().parents[3]
SPLITS = yaml.safe_load((REPO / "bench" / "corpora" / "splits.yaml").read_text(encoding="utf-8"))


def test_no_card_lists_a_test_corpus_or_a_test_writer():
    tested = [n for n, s in SPLITS["corpora"].items() if s == "test"]
    writers = [w for w, s in SPLITS["dialogue_acts"].items() if s == "test"]
    assert tested and writers  # the rule below would hold vacuously otherwise
    cards = sorted(MODELS.glob("*.md"))
    assert {c.stem for c in cards} >= {"acts", "units", "answerable"}
    for card in cards:
        listed = re.findall(r"`(bench/corpora/[^`]+)`", card.read_text(encoding="utf-8"))
        assert listed, f"{card.name} names no data file"
        for path in listed:
            assert not any(path.startswith(f"bench/corpora/{n}/") for n in tested), (card, path)


def test_every_artifact_has_a_card_and_all_are_small():
    artifacts = sorted(MODELS.glob("*.npz"))
    assert artifacts
    for artifact in artifacts:
        assert artifact.with_suffix(".md").exists(), artifact
    assert sum(a.stat().st_size for a in artifacts) <= 20 * 2**20


def test_the_served_models_read_the_features_the_code_computes():
    for name, features in (("units", UNIT_FEATURES), ("answerable", ANSWER_FEATURES)):
        model = LinearModel.load(MODELS / f"{name}.npz", features)
        assert model.coef.shape == (len(features),)
        assert 0.0 <= float(model.probability(np.zeros(len(features)))) <= 1.0
    thresholds = LinearModel.load(MODELS / "answerable.npz", ANSWER_FEATURES).thresholds
    assert 0.0 <= thresholds["suggest_at"] <= thresholds["answer_at"] <= 1.0


def test_a_model_fitted_on_other_features_is_refused(tmp_path):
    model = LinearModel(("a", "b"), np.zeros(2), np.ones(2), np.ones(2), 0.0)
    model.save(tmp_path / "m.npz")
    try:
        LinearModel.load(tmp_path / "m.npz", ("a", "c"))
    except ValueError as exc:
        assert "make train" in str(exc)
    else:
        raise AssertionError("a model of other features was loaded")
