"""The one place that chooses backends and builds the services.

    >>> services = build_services(get_settings())
    >>> services.chain.ask("Was kostet der Versand?").text

Heavy libraries (the embedder's model, chromadb) load here, once per process.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from bot.chain import AnswerChain
from bot.extractive import ExtractiveAnswerer
from bot.generative import GenerativeAnswerer
from bot.llm import make_chat_model
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


def build_services(settings: LotseSettings | None = None, embedder: Embedder | None = None,
                   chat_model: BaseChatModel | None = None) -> Services:
    """Wire store, embedder, retriever, answer chain (with an LLM if ``llm.mode`` names one)
    and syncer from one settings tree.

    ``embedder`` and ``chat_model`` let tests inject fakes; everything else follows the settings.
    """
    settings = settings or get_settings()
    store = make_store(settings)
    embedder = embedder or make_embedder(settings.embedding)
    retriever = HybridRetriever(store, embedder, settings.retrieval)
    model = chat_model if chat_model is not None else make_chat_model(settings.llm)
    writer = GenerativeAnswerer(model, settings.llm, settings.server.brand) if model else None
    chain = AnswerChain(retriever, ExtractiveAnswerer(settings.answer), settings.answer, writer,
                        settings.grounding)
    return Services(settings, store, embedder, retriever, chain, Syncer(store, embedder, settings))
