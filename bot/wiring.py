"""The one place that chooses backends and builds the services.

    >>> services = build_services(get_settings())
    >>> services.chain.ask("Was kostet der Versand?").text

Heavy libraries (the embedder's model, chromadb) load here, once per process.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.chain import AnswerChain
from bot.extractive import ExtractiveAnswerer
from ingest.sync import Syncer
from kb.embedders import Embedder, make_embedder
from kb.retrieval import HybridRetriever
from kb.settings import LotseSettings, get_settings
from kb.store import ChromaChunkStore, make_store


@dataclass
class Services:
    settings: LotseSettings
    store: ChromaChunkStore
    embedder: Embedder
    retriever: HybridRetriever
    chain: AnswerChain
    syncer: Syncer


def build_services(settings: LotseSettings | None = None, embedder: Embedder | None = None) -> Services:
    """Wire store, embedder, retriever, answer chain and syncer from one settings tree.

    ``embedder`` lets tests inject a fake; everything else follows the settings.
    """
    settings = settings or get_settings()
    store = make_store(settings)
    embedder = embedder or make_embedder(settings.embedding)
    retriever = HybridRetriever(store, embedder, settings.retrieval)
    chain = AnswerChain(retriever, ExtractiveAnswerer(settings.answer), settings.answer)
    return Services(settings, store, embedder, retriever, chain, Syncer(store, embedder, settings))
