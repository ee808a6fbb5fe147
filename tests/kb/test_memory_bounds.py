"""What a long-running process keeps of old generations, however many publishes and
rollbacks it has seen: the live generation's cached records, the previous generation open
(without records) for the requests that began on it, and the retriever's lexical indexes
of those two (the soak in README, "Running on several machines", is the hour-long version
of these)."""

from __future__ import annotations

import numpy as np
import pytest

from kb.chroma_records import Sentence
from kb.embedders import FakeEmbedder
from kb.generation_cache import GenerationCache
from kb.retrieval import HybridRetriever
from kb.settings import LotseSettings
from kb.store import make_store
from kb.types import Chunk

PUBLISHES = 6


def _chunks(round_: int) -> list[Chunk]:
    out = []
    for n, (doc, text) in enumerate([("zelt", "Das Zelt Nordkap wiegt 2,1 kg."),
                                     ("versand", "Der Versand kostet 4,90 Euro."),
                                     ("notiz", "Intern: Retouren gehen an Lager 3.")]):
        meta = {"source": f"{doc}.md", "title": doc, "doc_type": "faq", "language": "de",
                "audience": "internal" if doc == "notiz" else "public", "sentences": 1,
                "product": "Nordkap" if doc == "zelt" else ""}
        out.append(Chunk(id=f"{doc}-{round_}", doc_id=f"{doc}-{round_}",
                         text=f"{text} Stand {round_}.", position=n, section=None, metadata=meta))
    return out


def _publish(store, embedder: FakeEmbedder, round_: int):
    chunks = _chunks(round_)
    vectors = embedder.embed_batch([c.text for c in chunks])
    sentences = [Sentence(f"{c.id}:0", c.id, c.text, c.audience, {}) for c in chunks]
    writer = store.begin()
    writer.add(chunks, vectors, sentences, vectors.copy())
    return writer.publish({"embedder": embedder.name})


@pytest.fixture
def setup(tmp_path):
    settings = LotseSettings(home=tmp_path / "home", embedding={"mode": "fake"},
                             store={"refresh_seconds": 0, "keep_generations": 3})
    store, embedder = make_store(settings), FakeEmbedder()
    return store, embedder, HybridRetriever(store, embedder, settings.retrieval)


def _ask(retriever: HybridRetriever) -> None:
    for view in ("customer", "agent"):
        retriever.retrieve("Was wiegt das Zelt?", view=view)
        retriever.products(view)
        retriever.catalog(view)


def test_after_many_publishes_only_the_live_generation_caches_and_two_are_open(setup):
    store, embedder, retriever = setup
    seen = []
    for round_ in range(PUBLISHES):
        _publish(store, embedder, round_)
        _ask(retriever)
        seen.append(store.current())
    live, previous = store.held()
    assert (live.id, previous.id) == (seen[-1].id, seen[-2].id)
    assert live.cached() > 0  # the live generation's records are cached
    assert not previous.closed and previous.cached() == 0  # open, retired
    for old in seen[:-2]:  # every older one was closed
        assert old.closed and old.cached() == 0
    assert set(retriever.caches.generations()) <= {live.id, previous.id}
    assert len(retriever.caches.generations()) <= 2


def test_a_rollback_takes_the_previous_generation_back_and_it_caches_again(setup):
    store, embedder, retriever = setup
    first = _publish(store, embedder, 0)
    _ask(retriever)
    _publish(store, embedder, 1)
    _ask(retriever)
    assert first.cached() == 0
    back = store.rollback()
    assert back is first and not back.closed  # the same object: no second client
    _ask(retriever)
    assert back.cached() > 0
    assert len(store.held()) == 2 and len(retriever.caches.generations()) <= 2


def test_the_persistent_backend_lets_go_of_old_generations_chromadb_systems(setup):
    """chromadb keeps a folder's System (its indexes, its SQLite connection) for as long as
    one client of it is open; a client per publish that is never closed is a leak."""
    from chromadb.api.shared_system_client import SharedSystemClient

    store, embedder, retriever = setup
    before = set(SharedSystemClient._identifier_to_system)
    for round_ in range(PUBLISHES):
        _publish(store, embedder, round_)
        _ask(retriever)
    opened = set(SharedSystemClient._identifier_to_system) - before
    assert {p.rsplit("gen-", 1)[-1] for p in opened} == {g.id for g in store.held()}


def test_a_request_on_the_previous_generation_is_answered_uncached_and_then_it_closes(setup):
    store, embedder, _ = setup
    straggler = _publish(store, embedder, 0)  # a request that began on it still holds it
    straggler.get_chunks(["zelt-0"], ("public",))
    assert straggler.cached() > 0
    _publish(store, embedder, 1)
    assert not straggler.closed and straggler.cached() == 0  # retired: open, records gone
    assert set(straggler.get_chunks(["zelt-0"], ("public",))) == {"zelt-0"}
    assert straggler.cached() == 0  # read, not remembered
    _publish(store, embedder, 2)
    assert straggler.closed and straggler.cached() == 0
    # Its client is closed (persistent backend): the request fails and the retriever
    # retries on the live generation (HybridRetriever.retrieve).
    with pytest.raises(Exception):
        straggler.get_chunks(["zelt-0"], ("public",))
    assert straggler.cached() == 0


class _Gen:
    def __init__(self, gen_id: str) -> None:
        self.id, self.closed = gen_id, False


def test_the_generation_cache_keeps_at_most_keep_generations_and_drops_closed_ones():
    cache = GenerationCache(keep=2)
    a, b, c = _Gen("a"), _Gen("b"), _Gen("c")
    made = []
    for gen in (a, b, a):
        assert cache.get(gen, "x", lambda gen=gen: made.append(gen.id) or gen.id) == gen.id
    assert made == ["a", "b"] and cache.generations() == ["a", "b"]  # made once each
    cache.get(c, "x", lambda: "c")
    assert cache.generations() == ["b", "c"]  # the oldest went
    b.closed = True
    cache.get(a, "x", lambda: "a again")
    assert cache.generations() == ["c", "a"]  # the closed one went first
    assert cache.get(a, "x", lambda: "never") == "a again"


def test_a_generation_cache_holds_at_least_one_generation():
    with pytest.raises(ValueError):
        GenerationCache(keep=0)
    one = GenerationCache(keep=1)
    one.get(_Gen("a"), "x", lambda: np.zeros(3))
    one.get(_Gen("b"), "x", lambda: np.zeros(3))
    assert one.generations() == ["b"]


def test_release_frees_what_only_reference_cycles_hold():
    """An ingest leaves garbage in reference cycles; it must not wait for Python's rare
    collection of its oldest objects to be freed and handed back."""
    import gc
    import weakref

    from kb.memory import release

    class Node:
        pass

    gc.disable()
    try:
        node = Node()
        node.self, node.payload = node, np.ones(1 << 20, dtype=np.float32)
        alive = weakref.ref(node)
        del node
        assert alive() is not None  # only the cycle holds it now
        release()
        assert alive() is None
    finally:
        gc.enable()
