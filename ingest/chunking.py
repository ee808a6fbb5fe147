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

from markdown_it import MarkdownIt

from kb.settings import ChunkingSettings
from kb.text import short_hash, split_sentences
from kb.types import Chunk, Document

# CommonMark plus tables. Headings, lists, tables and code come from a real parser, so
# a "# comment" inside a code fence stays code instead of becoming a heading.
_MARKDOWN = MarkdownIt("commonmark").enable("table")
# PDF and DOCX text often bullets with "•", which Markdown does not know.
_BULLET = re.compile(r"^(\s*)•\s+", re.MULTILINE)


@dataclass(frozen=True)
class Section:
    title: str | None
    units: tuple[str, ...]


def sections(text: str) -> list[Section]:
    """Split Markdown text into sections (at headings) of sentence-sized units.

    A paragraph gives its sentences; a list item, a table row (its cells joined by
    " – ") and each paragraph of a block quote are units of their own; a code block
    is text, split into sentences like a paragraph.
    """
    out: list[Section] = []
    title: str | None = None
    units: list[str] = []
    row: list[str] = []
    in_item = in_heading = in_cell = False

    def flush_section() -> None:
        if units:
            out.append(Section(title, tuple(units)))
        units.clear()

    for token in _MARKDOWN.parse(_BULLET.sub(r"\1- ", text)):
        kind = token.type
        if kind == "heading_open":
            flush_section()
            in_heading = True
        elif kind == "heading_close":
            in_heading = False
        elif kind == "list_item_open":
            in_item = True
        elif kind == "list_item_close":
            in_item = False
        elif kind in ("th_open", "td_open"):
            in_cell = True
        elif kind in ("th_close", "td_close"):
            in_cell = False
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            if any(row):
                units.append(" – ".join(c for c in row if c))
        elif kind == "inline":
            content = " ".join(token.content.split())
            if in_heading:
                title = content or title
            elif in_cell:
                row.append(content)
            elif in_item:
                if content:
                    units.append(content)
            else:
                units.extend(split_sentences(content))
        elif kind in ("fence", "code_block", "html_block"):
            units.extend(split_sentences(" ".join(token.content.split())))
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
