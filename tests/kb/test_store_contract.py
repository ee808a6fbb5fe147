"""One contract, two backends: chromadb persistent files and a real `chroma run` server."""

from __future__ import annotations

import numpy as np
import pytest

from kb.chroma_records import Sentence
from kb.errors import StoreError
from kb.generation_store import ChromaChunkStore
from kb.settings import LotseSettings
from kb.store import make_store
from kb.types import Chunk

_PREFIXES = iter(f"t{i}" for i in range(10_000))


@pytest.fixture(params=["persistent", "http"])
def make(request, tmp_path):
    """A factory of store handles on one shared store, as separate processes would open it."""
    if request.param == "http":
        port = request.getfixturevalue("chroma_server")
        store = {"mode": "http", "port": port, "collection_prefix": next(_PREFIXES)}
    else:
        store = {"mode": "persistent"}
    settings = LotseSettings(home=tmp_path / "home", store={**store, "refresh_seconds": 0})
    return lambda: make_store(settings)


def _chunk(doc: str, n: int, audience: str | None = "public", text: str | None = None) -> Chunk:
    meta = {"source": f"{doc}.md", "title": doc, "doc_type": "product", "product": doc,
            "language": "de", "sentences": 1}
    if audience is not None:
        meta["audience"] = audience
    return Chunk(id=f"{doc}-{n}", doc_id=doc, text=text or f"{doc} Satz {n}.", position=n,
                 section="S", metadata=meta)


def _vec(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _write(store, chunks, copy_from=None, keep=()):
    writer = store.begin()
    if copy_from is not None:
        writer.copy_from(copy_from, keep)
    vecs = np.stack([_vec(hash(c.id) % 1000) for c in chunks]) if chunks else np.zeros((0, 8))
    sentences = [Sentence(f"{c.id}:0", c.id, c.text, c.audience, {}) for c in chunks]
    writer.add(chunks, vecs, sentences, vecs.copy())
    return writer, vecs


def test_empty_store_has_no_generation(make):
    assert make().current() is None


def test_nothing_is_visible_before_publish(make):
    store = make()
    writer, _ = _write(store, [_chunk("a", 0)])
    assert store.current(force=True) is None
    writer.publish({"embedder": "test"})
    gen = store.current(force=True)
    assert gen is not None and gen.count("public") == 1


def test_customer_queries_never_return_internal_chunks(make):
    store = make()
    chunks = [_chunk("pub", 0), _chunk("int", 0, "internal")]
    writer, vecs = _write(store, chunks)
    gen = writer.publish({})
    internal_vec = vecs[1]
    customer = gen.query(internal_vec, ("public",), 5)
    assert [m.id for m, _ in customer] == ["pub-0"]
    agent = gen.query(internal_vec, ("public", "internal"), 5)
    assert agent[0][0].id == "int-0"
    assert set(gen.get_chunks(["int-0", "pub-0"], ("public",))) == {"pub-0"}


def test_chunks_without_a_known_audience_are_refused(make):
    writer = make().begin()
    with pytest.raises(StoreError, match="audience"):
        writer.add([_chunk("x", 0, audience=None)], np.stack([_vec(1)]))
    writer.abort()


def test_copy_carries_vectors_and_only_kept_documents(make):
    store = make()
    writer, vecs = _write(store, [_chunk("a", 0), _chunk("a", 1), _chunk("b", 0)])
    first = writer.publish({})
    writer2, _ = _write(store, [_chunk("c", 0)], copy_from=first, keep={"a"})
    second = writer2.publish({})
    got = second.get_chunks(["a-0", "a-1", "b-0", "c-0"], ("public",))
    assert set(got) == {"a-0", "a-1", "c-0"}
    assert np.allclose(got["a-0"][1], vecs[0], atol=1e-6)
    kept = [got["a-0"][0], got["c-0"][0]]
    assert len(second.sentence_vectors(kept, ("public",))) == 2


def test_abort_and_failed_validation_leave_the_live_generation(make):
    store = make()
    writer, _ = _write(store, [_chunk("a", 0)])
    live = writer.publish({})
    aborted, _ = _write(store, [_chunk("b", 0)])
    aborted.abort()
    bad, _ = _write(store, [_chunk("c", 0)])
    with pytest.raises(StoreError, match="validation"):
        bad.publish({"expected_counts": {"public_chunks": 99}})
    assert store.current(force=True).id == live.id


def test_another_handle_sees_a_new_publish(make):
    reader, writer_store = make(), make()
    w, _ = _write(writer_store, [_chunk("a", 0)])
    w.publish({})
    first = reader.current(force=True)
    w2, _ = _write(writer_store, [_chunk("b", 0)])
    w2.publish({})
    second = reader.current(force=True)
    assert first.id != second.id and second.count("public") == 1


def test_old_generations_are_pruned(make):
    store = make()
    for i in range(4):
        w, _ = _write(store, [_chunk(f"d{i}", 0)])
        w.publish({})
    assert len(store.generations()) == 2


def test_sentences_of_chunks_without_a_recorded_count_are_found(make):
    store = make()
    old_style = Chunk("o-0", "o", "Alter Satz.", 0, "S",
                      {"source": "o.md", "title": "o", "audience": "public", "language": "de"})
    writer = store.begin()
    vec = np.stack([_vec(7)])
    writer.add([old_style], vec, [Sentence("o-0:0", "o-0", "Alter Satz.", "public", {})], vec)
    gen = writer.publish({})
    found = gen.sentence_vectors([gen.get_chunks(["o-0"], ("public",))["o-0"][0]], ("public",))
    assert [s.id for s, _ in found] == ["o-0:0"]


def test_records_are_fetched_once_per_generation_and_keep_their_audience(make):
    store = make()
    chunks = [_chunk("pub", 0), _chunk("int", 0, "internal")]
    writer, _ = _write(store, chunks)
    gen = writer.publish({})
    calls = []
    for audience in ("public", "internal"):
        for kind in ("chunks", "sentences"):
            col = gen._col(audience, kind)
            original = col.get
            col.get = lambda *a, _o=original, **kw: calls.append(kw.get("ids")) or _o(*a, **kw)
    first = gen.get_chunks(["pub-0", "int-0"], ("public",))
    again = gen.get_chunks(["pub-0", "int-0"], ("public",))
    assert set(first) == set(again) == {"pub-0"}  # the internal id stays out, cached or not
    assert np.array_equal(first["pub-0"][1], again["pub-0"][1])
    assert calls == [["pub-0", "int-0"]]
    sentences = gen.sentence_vectors([chunks[0]], ("public",))
    assert [s.id for s, _ in sentences] == ["pub-0:0"]
    gen.sentence_vectors([chunks[0]], ("public",))
    assert calls == [["pub-0", "int-0"], ["pub-0:0"]]
    both = gen.get_chunks(["pub-0", "int-0"], ("public", "internal"))
    assert set(both) == {"pub-0", "int-0"} and calls[-1] == ["pub-0", "int-0"]


def test_a_backend_that_misses_a_hook_cannot_be_built(settings):
    """The backend hooks are abstract: a forgotten override fails at construction, not with
    a None at the first publish."""

    class Forgetful(ChromaChunkStore):  # every hook but ``discard``
        def _read_pointer(self):
            return None

        def _open(self, gen_id):
            raise AssertionError

        def _writer_client(self, gen_id):
            raise AssertionError

        def publish(self, writer, info):
            raise AssertionError

        def generations(self):
            return []

        def _acquire(self, wait):
            raise AssertionError

        def _release(self, holder):
            raise AssertionError

        def _info(self, gen_id):
            raise AssertionError

        def _point_to(self, gen_id, info):
            raise AssertionError

    with pytest.raises(TypeError, match="discard"):
        Forgetful(settings)


def test_rollback_brings_the_previous_generation_back_to_every_reader(make):
    store, reader = make(), make()
    w, _ = _write(store, [_chunk("old", 0)])
    first = w.publish({"files": 1})
    w2, _ = _write(store, [_chunk("new", 0), _chunk("new", 1)])
    second = w2.publish({"files": 2})
    history = store.history()
    assert [(h["generation"], h["live"]) for h in history] == [(first.id, False), (second.id, True)]
    assert history[1]["counts"]["public_chunks"] == 2 and history[0]["files"] == 1
    assert reader.current(force=True).id == second.id
    back = store.rollback()
    assert back.id == first.id
    seen = reader.current(force=True)
    assert seen.id == first.id and set(seen.get_chunks(["old-0", "new-0"], ("public",))) == {"old-0"}
    with pytest.raises(StoreError, match="no earlier generation"):
        store.rollback()
    assert store.rollback(to=second.id).id == second.id  # and forward again
    with pytest.raises(StoreError, match="no published generation"):
        store.rollback(to="123")


def test_one_writer_at_a_time_and_the_second_is_told_who_writes(make):
    first, second = make(), make()
    with first.writing():
        with pytest.raises(StoreError, match="writ|holds"):
            with second.writing(wait=0):
                pass
    with second.writing(wait=0):  # released: the next writer goes ahead
        pass


def test_a_publish_over_a_generation_the_writer_never_saw_is_refused(chroma_server, tmp_path):
    """Compare-and-set on the http store's shared pointer: the second guard besides the
    writer lock (which a writer may take over as stale)."""
    settings = LotseSettings(home=tmp_path / "home", store={
        "mode": "http", "port": chroma_server, "collection_prefix": next(_PREFIXES),
        "refresh_seconds": 0})
    one, other = make_store(settings), make_store(settings)
    slow, _ = _write(one, [_chunk("slow", 0)])
    fast, _ = _write(other, [_chunk("fast", 0)])
    fast_gen = fast.publish({})
    with pytest.raises(StoreError, match="another writer"):
        slow.publish({})
    assert one.current(force=True).id == fast_gen.id


def test_a_dead_writers_lock_is_taken_over_and_its_late_release_harms_nobody(
        chroma_server, tmp_path, monkeypatch):
    import kb.store_http

    monkeypatch.setattr(kb.store_http, "_LOCK_STALE", 0.6)
    settings = LotseSettings(home=tmp_path / "home", store={
        "mode": "http", "port": chroma_server, "collection_prefix": next(_PREFIXES),
        "refresh_seconds": 0})
    store = make_store(settings)
    name = f"{store.prefix}_writer"
    # A writer on another machine died holding the lock; its clock may be anything.
    store._http.create_collection(name, metadata={"host": "gone", "pid": 1, "token": "dead",
                                                  "renewed": 4e9}, embedding_function=None)
    with pytest.raises(StoreError, match="gone"):
        with store.writing(wait=0):
            pass
    with store.writing(wait=5):  # not renewed for longer than the stale time: taken over
        held = store._lock_holder(name)
        assert held["token"] != "dead"
        store._delete_if(name, "dead")  # the dead writer's late release
        assert store._lock_holder(name) == held
    assert store._lock_holder(name) is None


def test_sentences_are_stored_as_spans_of_their_chunk_and_read_back_whole(make):
    store = make()
    chunk = Chunk("s-0", "s", "Erster Satz. Zweiter Satz.\nDritter Satz.", 0, "S",
                  {"source": "s.md", "title": "s", "audience": "public", "language": "de",
                   "sentences": 3})
    texts = ["Erster Satz.", "Zweiter Satz.", "Ein Satz, der im Chunk nicht steht."]
    vecs = np.stack([_vec(i) for i in range(3)])
    writer = store.begin()
    writer.add([chunk], vecs[:1], [Sentence(f"s-0:{i}", "s-0", t, "public", {})
                                   for i, t in enumerate(texts)], vecs)
    col = writer._cols[("public", "sentences")]
    stored = col.get(ids=["s-0:0", "s-0:1", "s-0:2"], include=["documents", "metadatas"])
    by_id = dict(zip(stored["ids"], zip(stored["documents"], stored["metadatas"])))
    assert by_id["s-0:1"][0] is None and (by_id["s-0:1"][1]["start"], by_id["s-0:1"][1]["end"]) \
        == (13, 26)
    assert by_id["s-0:2"][0] == texts[2]  # not a span: the text itself is kept
    gen = writer.publish({})
    found = {s.id: (s.text, v) for s, v in gen.sentence_vectors([chunk], ("public",))}
    assert [found[f"s-0:{i}"][0] for i in range(3)] == texts
    assert np.allclose(found["s-0:1"][1], vecs[1], atol=1e-6)
    # an incremental sync copies span records into the next generation unchanged
    copier = store.begin()
    copier.copy_from(gen, {"s"})
    copied = copier.publish({})
    assert [s.text for s, _ in sorted(copied.sentence_vectors([chunk], ("public",)),
                                      key=lambda x: x[0].id)] == texts


def test_a_released_writer_goes_on_writing_and_publishes_everything(make):
    store = make()
    chunks = [_chunk("r", i) for i in range(3)]
    vecs = np.stack([_vec(i) for i in range(3)])
    writer = store.begin()
    writer.add(chunks[:2], vecs[:2])
    writer.release()  # chunks first, then sentences, as a big build does
    writer.add(chunks[2:], vecs[2:])
    writer.add_sentences([Sentence(f"{c.id}:0", c.id, c.text, "public", {}) for c in chunks],
                         vecs.copy(), chunks)
    gen = writer.publish({})
    assert gen.count("public") == 3 and gen.count("public", "sentences") == 3
    assert gen.query(vecs[2], ("public",), 1)[0][0].id == "r-2"


def test_a_reader_holds_two_generations_and_their_caches_however_often_it_flips(make):
    """Two processes on one store: the writer publishes five times, the reader follows each
    flip and reads; it caches the live generation's records only, keeps the previous one
    open, and on disk the caches of those and of the generations the store still keeps."""
    writer_side, reader = make(), make()
    followed = []
    for round_ in range(5):
        writer, vecs = _write(writer_side, [_chunk("f", round_)])
        writer.publish({})
        gen = reader.current(force=True)
        gen.get_chunks([f"f-{round_}"], ("public",))
        gen.cache_dir.mkdir(parents=True, exist_ok=True)  # as a lexical index would
        (gen.cache_dir / "marker").write_text(gen.id)
        followed.append(gen)
    assert [g.id for g in reader.held()] == [followed[-1].id, followed[-2].id]
    assert followed[-1].cached() == 1 and followed[-2].cached() == 0
    assert all(g.closed and g.cached() == 0 for g in followed[:-2])
    left = {g.id for g in followed if g.cache_dir.exists()}
    assert left <= {g.id for g in followed[-2:]} | set(reader.generations())
    assert {g.id for g in followed[-2:]} <= left
