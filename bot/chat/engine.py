"""What the conversation layer runs on: the knowledge base, the answer chain, the syncer.

Built once per process by ``bot.wiring.build_engine``; the chat and admin
services, the CLI, the evaluation and the benchmarks all take it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answer.chain import AnswerChain
from ingest.sync import Syncer
from kb.embedders import Embedder
from kb.retrieval import HybridRetriever
from kb.settings import LotseSettings
from kb.store import ChunkStore


@dataclass
class Engine:
    settings: LotseSettings
    store: ChunkStore
    embedder: Embedder
    retriever: HybridRetriever
    chain: AnswerChain
    syncer: Syncer
