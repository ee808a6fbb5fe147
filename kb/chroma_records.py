"""How Lotse's chunks and sentences are kept as chromadb records, and read back.

A chunk is one record (its text, its metadata with ``doc_id``, ``position`` and ``section``
flattened in, its vector); a sentence found in its chunk's text is kept as the span there
rather than a second copy. Every record carries its audience, and a record read from the
collection of another audience is refused (``audience_verified``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kb.types import Chunk

log = logging.getLogger(__name__)

# The two kinds of collection each audience has in a generation.
CHUNKS = "chunks"
SENTENCES = "sentences"
KINDS = (CHUNKS, SENTENCES)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a chunk, embedded on its own for sentence-level dense scoring."""

    id: str
    chunk_id: str
    text: str
    audience: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DenseMatch:
    id: str
    similarity: float


def chunk_to_record(chunk: Chunk) -> tuple[str, str, dict[str, Any]]:
    meta = {k: v for k, v in chunk.metadata.items() if isinstance(v, (str, int, float, bool))}
    meta.update(doc_id=chunk.doc_id, position=chunk.position, section=chunk.section or "")
    return chunk.id, chunk.text, meta


def record_to_chunk(cid: str, text: str, meta: dict[str, Any]) -> Chunk:
    meta = dict(meta)
    doc_id = str(meta.pop("doc_id", ""))
    position = int(meta.pop("position", 0))
    section = meta.pop("section", "") or None
    return Chunk(id=cid, doc_id=doc_id, text=text, position=position, section=section, metadata=meta)


def batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def sentence_records(sentences: Sequence[Sentence], chunks: Sequence[Chunk]
                      ) -> tuple[list[str | None], list[dict[str, Any]]]:
    """Texts and metadata of sentence records. A sentence found in its chunk's text is
    stored as its span there, not as a second copy of the text: chromadb indexes every
    stored text for full-text search, which made up a third of the sentence writes."""
    chunk_text = {c.id: c.text for c in chunks}
    cursor: dict[str, int] = {}
    texts: list[str | None] = []
    metas: list[dict[str, Any]] = []
    for s in sentences:
        meta = {**s.metadata, "chunk_id": s.chunk_id, "audience": s.audience}
        start = chunk_text.get(s.chunk_id, "").find(s.text, cursor.get(s.chunk_id, 0)) \
            if s.text else -1
        if start < 0:
            texts.append(s.text)
        else:
            cursor[s.chunk_id] = start + len(s.text)
            texts.append(None)
            meta.update(start=start, end=start + len(s.text))
        metas.append(meta)
    return texts, metas


def audience_verified(meta: dict[str, Any] | None, audience: str) -> bool:
    """A record must carry the audience of the collection it sits in; anything else is
    refused and logged, never served."""
    if (meta or {}).get("audience") == audience:
        return True
    log.error("refused a record without audience %r in the %s collection", audience, audience)
    return False
