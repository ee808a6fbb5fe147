import numpy as np
import pytest

from kb.embedders import (
    FakeEmbedder,
    SentenceTransformerEmbedder,
    embed_grouped,
    make_embedder,
)
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


def test_sentence_transformers_loads_a_local_model_offline(minilm_model):
    emb = make_embedder(EmbeddingSettings(mode="sentence-transformers", model=str(minilm_model)))
    vectors = emb.embed_batch(["a tent for Norway", "a tent for Sweden", "a hammer drill"])
    assert vectors.shape == (3, emb.dim) and emb.dim == 384
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])


def test_sentence_transformers_without_model_is_a_clear_error():
    with pytest.raises(ConfigError, match="embedding.model"):
        SentenceTransformerEmbedder("")


def test_settings_switch_runs_the_whole_pipeline_on_a_sentence_transformers_model(tmp_path,
                                                                                 minilm_model):
    from bot.wiring import build_engine
    from kb.settings import LotseSettings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "versand.md").write_text("# Versand\nDer Versand nach Österreich kostet 9,90 €.",
                                     encoding="utf-8")
    (docs / "zelt.md").write_text("# Zelt\nDas Zelt wiegt 2,9 kg.", encoding="utf-8")
    settings = LotseSettings(home=tmp_path / "home", embedding={
        "mode": "sentence-transformers", "model": str(minilm_model)})
    engine = build_engine(settings)
    assert engine.embedder.name.startswith("st:")
    assert engine.syncer.sync([docs]).published
    hits = engine.retriever.retrieve("Wie schwer ist das Zelt?").hits
    assert hits[0].chunk.source == "zelt.md"
    assert engine.store.current().info["embedder"] == engine.embedder.name


def test_grouped_embedding_without_a_grouped_pass_embeds_groups_and_parts_together():
    emb = FakeEmbedder()
    groups = [["Zelt für zwei.", "Wiegt 2 kg."], ["Wanderstöcke aus Carbon."]]
    whole, parts = embed_grouped(emb, groups)
    assert np.allclose(whole, emb.embed_batch(["Zelt für zwei.\nWiegt 2 kg.",
                                                "Wanderstöcke aus Carbon."]))
    assert np.allclose(parts, emb.embed_batch([p for g in groups for p in g]))


def test_usem3_grouped_pass_gives_the_models_own_part_vectors(use_embedder):
    """The grouped pass re-implements usem3's forward pass (pinned version): every part
    vector must be the library's own, and a group's vector must stay close to the vector
    of its joined text, closer than to any other group's."""
    groups = [["Das Zelt wiegt 2,1 kg.", "Es ist für zwei Personen gedacht."],
              ["Die Rücksendung ist 30 Tage lang kostenlos.", "Das Etikett liegt bei."],
              ["The drill has 800 watts.", "It comes with a case."],
              ["Nur ein Satz ohne Nachbarn."]]
    whole, parts = embed_grouped(use_embedder, groups)
    own_parts = use_embedder.embed_batch([p for g in groups for p in g])
    assert np.allclose(np.einsum("ij,ij->i", parts, own_parts), 1.0, atol=1e-5)
    joined = use_embedder.embed_batch([" ".join(g) for g in groups])
    similarity = whole @ joined.T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2, 3]
    assert similarity.diagonal().min() > 0.8
    assert np.allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-5)


_TEXTS = ["Wie lange dauert der Versand?", "The drill has 800 watts.", "Rücksendung"]


def test_the_model_is_read_from_its_cache_after_the_first_load(model_cache):
    """The first load unpacks the packaged weights and writes them as plain arrays; the
    next maps them and gives exactly the same vectors."""
    from kb.embedders import UseEmbedder

    first = UseEmbedder(threads=1).embed_batch(_TEXTS)
    [folder] = (model_cache / "lotse").iterdir()
    assert (folder / "arrays.json").is_file() and (folder / "table.npy").is_file()
    cached = UseEmbedder(threads=1)
    assert np.array_equal(cached.embed_batch(_TEXTS), first)
    assert isinstance(cached._use._backend.table, np.memmap)


def test_a_damaged_or_unwritable_model_cache_costs_time_not_correctness(tmp_path, monkeypatch,
                                                                        caplog, model_cache):
    from kb.embedders import UseEmbedder

    expected = UseEmbedder(threads=1).embed_batch(_TEXTS)
    [folder] = (model_cache / "lotse").iterdir()
    table = folder / "table.npy"
    size = table.stat().st_size
    table.write_bytes(table.read_bytes()[:1000])  # a disk that filled up mid-write
    assert np.array_equal(UseEmbedder(threads=1).embed_batch(_TEXTS), expected)
    assert "model cache unreadable" in caplog.text
    assert table.stat().st_size == size  # and written again whole

    folder.chmod(0o777)  # anyone could have swapped the arrays: not used
    caplog.clear()
    assert np.array_equal(UseEmbedder(threads=1).embed_batch(_TEXTS), expected)
    assert "others may write it" in caplog.text

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert np.array_equal(UseEmbedder(threads=1).embed_batch(_TEXTS), expected)


def test_embedding_processes_give_the_in_process_vectors_to_two_threads_at_once(use_embedder):
    from concurrent.futures import ThreadPoolExecutor

    groups = [["Das Zelt wiegt 2,1 kg.", "Es ist für zwei Personen."], ["Nur ein Satz."],
              ["The drill has 800 watts.", "It comes with a case.", "Und einem Akku."]]
    whole, parts = embed_grouped(use_embedder, groups)
    with use_embedder.batch() as pool, ThreadPoolExecutor(2) as threads:
        assert pool.workers == 2
        results = list(threads.map(pool.embed_grouped, [groups] * 4))
    for got_whole, got_parts in results:
        assert np.allclose(got_whole, whole, atol=1e-5) and np.allclose(got_parts, parts, atol=1e-5)


def test_a_dead_embedding_process_is_a_clear_error(use_embedder):
    from kb.errors import EmbeddingError

    with use_embedder.batch() as pool:
        for process in pool._processes:
            process.kill()
            process.wait()
        with pytest.raises(EmbeddingError, match="embedding worker process ended unexpectedly"):
            pool.embed_grouped([["Ein Satz."]])


def test_killing_the_workers_frees_a_thread_waiting_on_a_stuck_one(use_embedder):
    """An aborted ingest must not wait for a worker that no longer answers."""
    import os
    import signal
    import threading

    from kb.errors import EmbeddingError

    with use_embedder.batch() as pool:
        pool.warm()
        for process in pool._processes:
            os.kill(process.pid, signal.SIGSTOP)  # stuck: alive, never answering
        outcome: list[BaseException] = []

        def ask() -> None:
            try:
                pool.embed_grouped([["Ein Satz."]])
            except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
                outcome.append(exc)

        waiting = threading.Thread(target=ask)
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive()  # really waiting on the stopped worker
        pool.kill()
        waiting.join(10)
        assert not waiting.is_alive() and isinstance(outcome[0], EmbeddingError)
