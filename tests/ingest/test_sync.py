"""Incremental sync: manifest by content hash, exact replacement, deletes, failures."""

from __future__ import annotations

import numpy as np
import pytest

from bot.wiring import build_engine
from kb.types import AUDIENCES


@pytest.fixture
def engine(settings, fake_embedder):
    return build_engine(settings, embedder=fake_embedder)


def _chunks_by_source(engine) -> dict[str, set[str]]:
    gen = engine.store.current(force=True)
    out: dict[str, set[str]] = {}
    for audience in AUDIENCES:
        for chunk, _ in gen.chunks(audience):
            out.setdefault(chunk.source, set()).add(chunk.id)
    return out


def test_first_ingest_of_the_corpus(engine, corpus_copy):
    report = engine.syncer.sync([corpus_copy])
    assert report.published and not report.failed
    # 49 Markdown + 3 generated + 2 FAQ tables + the product feed + 8 notes + the
    # vocabulary file
    assert len(report.added) == 64 and "lotse-vocabulary.yaml" in report.added
    gen = engine.store.current()
    assert gen.count("internal") > 0 and gen.count("public") > 100


def test_unchanged_tree_embeds_nothing(engine, corpus_copy, fake_embedder):
    engine.syncer.sync([corpus_copy])
    before = fake_embedder.calls
    gen_before = engine.store.current(force=True).id
    report = engine.syncer.sync([corpus_copy])
    assert fake_embedder.calls == before  # counted embedder calls: zero texts embedded
    assert report.counts() == {"added": 0, "updated": 0, "removed": 0, "unchanged": 64, "failed": 0}
    assert not report.published and engine.store.current(force=True).id == gen_before


def test_changed_file_replaces_exactly_its_chunks(engine, corpus_copy, fake_embedder):
    engine.syncer.sync([corpus_copy])
    before = _chunks_by_source(engine)
    target = corpus_copy / "produkte" / "stirnlampe-lumen-400.md"
    target.write_text(target.read_text(encoding="utf-8").replace("49,90 €", "44,90 €"),
                      encoding="utf-8")
    calls = fake_embedder.calls
    report = engine.syncer.sync([corpus_copy])
    after = _chunks_by_source(engine)
    assert report.updated == ["produkte/stirnlampe-lumen-400.md"] and len(report.unchanged) == 63
    changed = {s for s in before if before[s] != after.get(s)}
    assert changed == {"produkte/stirnlampe-lumen-400.md"}
    new_chunk_count = len(after["produkte/stirnlampe-lumen-400.md"])
    assert fake_embedder.calls - calls >= new_chunk_count  # only this file's chunks (+ sentences)
    hits = engine.retriever.retrieve("Was kostet die Lumen 400?").hits
    assert any("44,90 €" in h.chunk.text for h in hits)
    assert not any("49,90 €" in h.chunk.text for h in hits)


def test_deleted_file_is_removed_from_the_store(engine, corpus_copy):
    engine.syncer.sync([corpus_copy])
    (corpus_copy / "produkte" / "monitor-vista-27.md").unlink()
    report = engine.syncer.sync([corpus_copy])
    assert report.removed == ["produkte/monitor-vista-27.md"]
    assert "produkte/monitor-vista-27.md" not in _chunks_by_source(engine)


def test_broken_file_is_reported_and_its_stored_version_kept(engine, corpus_copy):
    engine.syncer.sync([corpus_copy])
    target = corpus_copy / "produkte" / "sommerbrise-3.md"
    stored = _chunks_by_source(engine)["produkte/sommerbrise-3.md"]
    target.write_bytes(b"\x00\x01\x02 binary garbage")
    (corpus_copy / "neu.md").write_text("# Neu\nEin neues Dokument über Heringe.", encoding="utf-8")
    (corpus_copy / "leer.txt").write_bytes(b"")
    report = engine.syncer.sync([corpus_copy])
    failed = dict(report.failed)
    assert set(failed) == {"produkte/sommerbrise-3.md", "leer.txt"}
    assert "binary content" in failed["produkte/sommerbrise-3.md"]
    assert failed["leer.txt"] == "empty file"
    assert report.added == ["neu.md"]  # the rest of the batch went on
    assert _chunks_by_source(engine)["produkte/sommerbrise-3.md"] == stored


def test_another_root_is_left_alone(engine, corpus_copy, tmp_path):
    engine.syncer.sync([corpus_copy])
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "zusatz.md").write_text("# Zusatz\nDer Kundendienst hilft gern.", encoding="utf-8")
    report = engine.syncer.sync([extra])
    assert report.added == ["zusatz.md"] and not report.removed
    assert "produkte/alpinpro-35.md" in _chunks_by_source(engine)


def test_audience_flag_makes_everything_internal(engine, tmp_path):
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "hinweis.md").write_text("---\naudience: public\n---\n# Hinweis\nNur intern.",
                                       encoding="utf-8")
    engine.syncer.sync([folder], audience="internal")
    gen = engine.store.current(force=True)
    assert gen.count("public") == 0 and gen.count("internal") == 1


def test_changing_the_chunk_size_re_embeds(engine, settings, fake_embedder, corpus_copy):
    engine.syncer.sync([corpus_copy])
    smaller = settings.model_copy(update={"chunking": settings.chunking.model_copy(
        update={"max_chars": 300})})
    report = build_engine(smaller, embedder=fake_embedder).syncer.sync([corpus_copy])
    assert len(report.updated) == 63


def test_missing_path_is_an_error(engine, tmp_path):
    from kb.errors import LotseError

    with pytest.raises(LotseError, match="no such file"):
        engine.syncer.sync([tmp_path / "gibt-es-nicht"])


def test_the_vocabulary_file_is_published_with_its_generation_and_follows_edits(engine,
                                                                               corpus_copy):
    vocab = corpus_copy / "lotse-vocabulary.yaml"
    engine.syncer.sync([corpus_copy])
    first = engine.store.current(force=True)
    assert "stirnlampe" in first.info["vocabulary"][str(corpus_copy.resolve())]["de"]["taschenlampe"].lower()
    assert engine.retriever.vocabulary(first).words_for("Welche Taschenlampe?", "de") == "Stirnlampe"

    # An edit alone publishes a new generation; no document is embedded again.
    vocab.write_text("de:\n  Funzel: Stirnlampe\n", encoding="utf-8")
    report = engine.syncer.sync([corpus_copy])
    assert report.updated == ["lotse-vocabulary.yaml"] and report.published
    assert report.chunks_embedded == 0
    second = engine.store.current(force=True)
    assert engine.retriever.vocabulary(second).words_for("eine Funzel", "de") == "Stirnlampe"
    assert engine.retriever.vocabulary(second).words_for("Taschenlampe", "de") == ""

    # A broken file is reported; what was published stays in force.
    vocab.write_text("de: [kaputt", encoding="utf-8")
    report = engine.syncer.sync([corpus_copy])
    assert report.failed and report.failed[0][0] == "lotse-vocabulary.yaml"
    assert "not valid YAML" in report.failed[0][1] and not report.published
    assert engine.retriever.vocabulary(engine.store.current(force=True)).words_for(
        "eine Funzel", "de") == "Stirnlampe"

    vocab.unlink()
    report = engine.syncer.sync([corpus_copy])
    assert report.removed == ["lotse-vocabulary.yaml"]
    assert engine.store.current(force=True).info["vocabulary"] == {}


def test_many_identical_files_do_not_block_a_publish(settings, use_embedder, tmp_path):
    """The same text uploaded five times ties in the dense index; the check after writing a
    generation must still find the freshly written chunk."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    for i in range(6):
        (folder / f"kopie-{i}.md").write_text("# Aktion\n\nIm Winter gibt es 20 % Rabatt auf "
                                              "Schlafsäcke mit dem Code WINTER26.\n",
                                              encoding="utf-8")
    engine = build_engine(settings, embedder=use_embedder)
    report = engine.syncer.sync([folder])
    assert report.published and not report.failed and len(report.added) == 6
    (folder / "neu.md").write_text("# Neu\n\nDer Versand ist ab 50 € kostenlos.\n", encoding="utf-8")
    assert engine.syncer.sync([folder]).published


class _FailingEmbedder:
    """Embeds a few batches, then fails, as a model running out of memory would."""

    name, dim = "failing", 64

    def __init__(self, inner, fail_after: int) -> None:
        self.inner, self.left = inner, fail_after

    def embed_batch(self, texts):
        self.left -= 1
        if self.left < 0:
            raise MemoryError("the embedder ran out of memory")
        return self.inner.embed_batch(texts)


def test_an_embedder_failing_mid_ingest_publishes_nothing_and_keeps_the_live_generation(
        engine, settings, fake_embedder, corpus_copy):
    first = engine.syncer.sync([corpus_copy])
    for path in sorted(corpus_copy.rglob("*.md"))[:30]:
        path.write_text(path.read_text(encoding="utf-8") + "\nNeu: ein weiterer Satz.\n",
                        encoding="utf-8")
    small = settings.model_copy(update={"embedding": settings.embedding.model_copy(
        update={"batch_size": 4})})
    failing = build_engine(small, embedder=_FailingEmbedder(fake_embedder, fail_after=3))
    with pytest.raises(MemoryError, match="out of memory"):
        failing.syncer.sync([corpus_copy])
    store = failing.store
    assert store.current(force=True).id == first.generation
    assert store.generations() == [first.generation]  # the half-written one is gone


def test_stored_vectors_are_the_embedders_own(engine, corpus_copy, fake_embedder):
    """Chunks and sentences are embedded in background batches; each stored vector must
    still belong to its own text."""
    engine.syncer.sync([corpus_copy])
    gen = engine.store.current(force=True)
    rows = list(gen.chunks("public", include_vectors=True))[:40]
    chunks = [c for c, _ in rows]
    joined = fake_embedder.embed_batch(["\n".join(
        ([c.search_text[:len(c.search_text) - len(c.text)].strip()] if c.search_text != c.text
         else []) + [s.text for s, _ in gen.sentence_vectors([c], ("public",))]) for c in chunks])
    assert np.allclose(np.stack([v for _, v in rows]), joined, atol=1e-5)
    sentences = gen.sentence_vectors(chunks, ("public",))
    assert len(sentences) == sum(c.metadata["sentences"] for c in chunks)
    own = fake_embedder.embed_batch([s.text for s, _ in sentences])
    assert np.allclose(np.stack([v for _, v in sentences]), own, atol=1e-5)


def test_embedding_processes_dying_mid_ingest_publish_nothing(settings, use_embedder, corpus_copy,
                                                              monkeypatch):
    """The default embedder works in child processes during an ingest; one that dies (the
    kernel's OOM killer, say) ends the ingest with a clear error and the live generation
    stays."""
    from kb.embed_processes import EmbeddingProcesses
    from kb.errors import EmbeddingError

    first = build_engine(settings, embedder=use_embedder).syncer.sync([corpus_copy])
    (corpus_copy / "neu.md").write_text("# Neu\n\nDer Versand ist ab 50 € kostenlos.\n",
                                        encoding="utf-8")

    class Killed(EmbeddingProcesses):
        def __init__(self, count) -> None:
            super().__init__(count)
            for process in self._processes:
                process.kill()

    monkeypatch.setattr(type(use_embedder), "batch",
                        lambda self: Killed(self.threads))
    engine = build_engine(settings, embedder=use_embedder)
    with pytest.raises(EmbeddingError, match="ended unexpectedly"):
        engine.syncer.sync([corpus_copy])
    assert engine.store.current(force=True).id == first.generation
    assert engine.store.generations() == [first.generation]

    # workers that cannot start at all end the ingest too, rather than fail every file
    monkeypatch.setattr("kb.pipes.start", lambda *a, **k: (_ for _ in ()).throw(
        OSError("Resource temporarily unavailable")))
    with pytest.raises(EmbeddingError, match="cannot start the embedding worker processes"):
        engine.syncer.sync([corpus_copy])
    assert engine.store.current(force=True).id == first.generation


def test_the_lexical_indexes_built_from_chunks_in_hand_match_the_published_generation(
        engine, corpus_copy):
    """Ingest builds each view's lexical index from the chunks it embeds and keeps, before
    the generation is read back; the index must be the one the stored chunks give."""
    from kb.lexical import LexicalIndex
    from kb.retrieval import VIEWS, build_lexical

    first = engine.syncer.sync([corpus_copy])
    changed = sorted(corpus_copy.rglob("*.md"))[:3]
    for path in changed:  # an incremental sync: most chunks are copied, three files new
        path.write_text(path.read_text(encoding="utf-8") + "\nNeu: Zeltheringe aus Titan.\n",
                        encoding="utf-8")
    second = engine.syncer.sync([corpus_copy])
    assert second.chunks_embedded < first.chunks_embedded
    gen = engine.store.current(force=True)
    assert gen.count("internal") > 0  # both views differ
    for view in VIEWS:
        saved = LexicalIndex.load(gen.cache_dir / f"lexical-{view}")
        fresh = build_lexical(gen, view)
        assert sorted(saved.ids) == sorted(fresh.ids)
        for query in ("Zeltheringe Titan", "Rücksendung Etikett", "interne Gutscheincodes"):
            by_id = dict(zip(saved.ids, saved.word_scores(query)))
            assert np.allclose([by_id[i] for i in fresh.ids], fresh.word_scores(query))
