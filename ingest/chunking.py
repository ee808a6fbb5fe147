"""Chunking that follows headings and sentence boundaries.

A document is cut into sections at Markdown headings (loaders turn HTML, PDF
and DOCX headings into Markdown ones). A section is packed sentence by sentence
into chunks of at most ``max_chars``; list items and table rows count as
sentences of their own. Every chunk keeps its section title, and its id derives
from the document, position and text, so an unchanged file yields the same ids.

    >>> chunks = chunk_document(doc, ChunkingSettings(max_chars=600))
    >>> chunks[0].section
    'Größen und Passform'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.settings import ChunkingSettings
from kb.text import short_hash, split_sentences
from kb.types import Chunk, Document

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass(frozen=True)
class Section:
    title: str | None
    units: tuple[str, ...]


def sections(text: str) -> list[Section]:
    """Split Markdown-ish text into sections of sentence-sized units."""
    out: list[Section] = []
    title: str | None = None
    block: list[str] = []
    units: list[str] = []

    def flush_block() -> None:
        if block:
            units.extend(split_sentences(" ".join(block)))
            block.clear()

    def flush_section() -> None:
        flush_block()
        if units:
            out.append(Section(title, tuple(units)))
        units.clear()

    for raw in text.splitlines():
        line = raw.strip()
        heading = _HEADING.match(line)
        if heading:
            flush_section()
            title = heading.group(2).strip()
        elif not line:
            flush_block()
        elif line.startswith("|"):
            flush_block()
            cells = [c.strip() for c in line.strip("|").split("|")]
            if any(c.strip("-: ") for c in cells):  # skip Markdown table rules
                units.append(" – ".join(c for c in cells if c))
        elif _ITEM.match(line):
            flush_block()
            units.append(_ITEM.sub("", line, count=1).strip())
        else:
            block.append(line)
    flush_section()
    return out


def _pack(units: tuple[str, ...], max_chars: int, overlap: int) -> list[list[str]]:
    """Greedy packing of units into groups of at most ``max_chars`` characters."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for unit in units:
        for piece in _split_long(unit, max_chars):
            if current and size + len(piece) + 1 > max_chars:
                groups.append(current)
                current = current[-overlap:] if overlap else []
                size = sum(len(u) + 1 for u in current)
                if size + len(piece) + 1 > max_chars:
                    current, size = [], 0
            current.append(piece)
            size += len(piece) + 1
    if current:
        groups.append(current)
    return groups


def _split_long(unit: str, max_chars: int) -> list[str]:
    """A single sentence longer than a chunk is cut at word boundaries."""
    if len(unit) <= max_chars:
        return [unit]
    pieces, current = [], ""
    for word in unit.split():
        if current and len(current) + len(word) + 1 > max_chars:
            pieces.append(current)
            current = ""
        current = f"{current} {word}".strip()
    if current:
        pieces.append(current)
    return [p[:max_chars] for p in pieces]


def chunk_document(doc: Document, settings: ChunkingSettings) -> list[Chunk]:
    """Cut one document into chunks that carry its metadata, title and section."""
    chunks: list[Chunk] = []
    if doc.metadata.get("doc_type") == "faq" and doc.metadata.get("faq_question"):
        # A Q&A pair is one unit: splitting it would separate the answer from its question.
        groups = [(doc.metadata["faq_question"], [doc.text])]
    else:
        groups = [(s.title, g) for s in sections(doc.text)
                  for g in _pack(s.units, settings.max_chars, settings.overlap_sentences)]
    for position, (section, units) in enumerate(groups):
        text = "\n".join(units) if doc.metadata.get("doc_type") != "faq" else units[0]
        chunk_id = short_hash(doc.id, str(position), text)
        meta = {**doc.metadata, "title": doc.title, "source": doc.source}
        chunks.append(Chunk(id=chunk_id, doc_id=doc.id, text=text, position=position,
                            section=section, metadata=meta))
    return chunks


def chunk_units(chunk: Chunk) -> list[str]:
    """The sentences (and list items) of a chunk, as the answerer quotes them."""
    return [u for line in chunk.text.splitlines() for u in split_sentences(line) if u.strip()]
