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


@dataclass
class _Block:
    """One piece of the parsed document: a heading, a paragraph (its lines), a list (its
    items), a table (its rows of cells) or code."""

    kind: str
    lines: list[str]
    rows: list[list[str]] | None = None


def _blocks(text: str) -> list[_Block]:
    """The document as blocks, from markdown-it's token stream."""
    out: list[_Block] = []
    depth = 0  # list nesting
    row: list[str] = []
    in_heading = in_cell = False
    for token in _MARKDOWN.parse(_BULLET.sub(r"\1- ", text)):
        kind = token.type
        if kind == "heading_open":
            in_heading = True
        elif kind == "heading_close":
            in_heading = False
        elif kind in ("bullet_list_open", "ordered_list_open"):
            if depth == 0:
                out.append(_Block("list", []))
            depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif kind == "table_open":
            out.append(_Block("table", [], []))
        elif kind in ("th_open", "td_open"):
            in_cell = True
        elif kind in ("th_close", "td_close"):
            in_cell = False
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and out and out[-1].rows is not None:
            out[-1].rows.append(row)
        elif kind == "inline":
            lines = [" ".join(line.split()) for line in _plain(token).splitlines()]
            lines = [line for line in lines if line]
            if in_heading:
                out.append(_Block("heading", [" ".join(lines)]))
            elif in_cell:
                row.append(" ".join(lines))
            elif depth:
                out[-1].lines.append(" ".join(lines))
            elif lines:
                out.append(_Block("paragraph", lines))
        elif kind in ("fence", "code_block", "html_block"):
            out.append(_Block("code", [" ".join(token.content.split())]))
    return out


# "[text][ref]" whose reference is defined in another file stays literal in Markdown.
_LEFTOVER_LINK = re.compile(r"\[([^\]]+)\](?:\[[^\]]*\]|\([^)]*\))")


def _plain(token) -> str:
    """An inline token as the reader sees it: link texts without their targets, emphasis
    and code marks dropped, HTML tags left out, line breaks kept."""
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
    return _LEFTOVER_LINK.sub(r"\1", "".join(parts))


# A figure alone on a line: "64 %", "3,2 Mio.", "12.000", "4,95 €".
_FIGURE = re.compile(r"^[~≈+-]?\d[\d.,]*\s*(%|prozent|€|eur|euro|mio\.?|millionen|mrd\.?|"
                     r"tsd\.?|x|mal|h|min|kg|km|m)?$", re.IGNORECASE)
_END = re.compile(r"[.!?:;,…\"“”)»]$")


def _is_heading_line(line: str, following: str | None) -> bool:
    """A title written as plain text: a short line without final punctuation, followed by
    text that starts a sentence ("Drei Regeln für den Versand" / "Wer bis 14 Uhr …")."""
    return (following is not None and len(line) <= 70 and len(line.split()) <= 9
            and not _END.search(line) and not _FIGURE.match(line)
            and line[:1].isupper() and following[:1].isupper())


def _split_plain_headings(blocks: list[_Block]) -> list[_Block]:
    """Paragraph lines that are titles become headings; a figure line joins the text that
    continues it ("64 %" + "der Befragten bestellen …"), with a label line between them
    put in front ("Mobil: 64 % der Befragten …")."""
    out: list[_Block] = []
    for i, block in enumerate(blocks):
        if block.kind != "paragraph":
            out.append(block)
            continue
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        after = nxt.lines[0] if nxt is not None and nxt.kind == "paragraph" else None
        lines = block.lines
        if len(lines) == 1 and _is_heading_line(lines[0], after):
            out.append(_Block("heading", lines))
            continue
        pending: list[str] = []
        for j, line in enumerate(lines):
            following = lines[j + 1] if j + 1 < len(lines) else None
            if following is not None and _is_heading_line(line, following) and (
                    j == 0 or _END.search(lines[j - 1])):
                if pending:
                    out.append(_Block("paragraph", pending))
                    pending = []
                out.append(_Block("heading", [line]))
            else:
                pending.append(line)
        if pending:
            out.append(_Block("paragraph", pending))
    return _join_figures(out)


def _join_figures(blocks: list[_Block]) -> list[_Block]:
    out: list[_Block] = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        lines = block.lines
        if block.kind == "paragraph" and len(lines) == 1 and _FIGURE.match(lines[0]):
            label, rest, step = _figure_tail(blocks, i)
            if rest:
                text = f"{lines[0]} {rest}"
                out.append(_Block("paragraph", [f"{label}: {text}" if label else text]))
                i += step
                continue
        if block.kind == "paragraph":
            merged: list[str] = []
            for line in lines:  # the same inside one paragraph
                if merged and _FIGURE.match(merged[-1]) and line[:1].islower():
                    merged[-1] = f"{merged[-1]} {line}"
                elif (len(merged) >= 2 and _FIGURE.match(merged[-2]) and line[:1].islower()
                      and not _END.search(merged[-1])):
                    figure, label = merged[-2], merged.pop()
                    merged[-1] = f"{label}: {figure} {line}"
                else:
                    merged.append(line)
            block = _Block("paragraph", merged)
        out.append(block)
        i += 1
    return out


def _figure_tail(blocks: list[_Block], i: int) -> tuple[str, str, int]:
    """(label, continuation, blocks used) after a figure paragraph at ``i``."""
    def para(k: int) -> str | None:
        if k < len(blocks) and blocks[k].kind in ("paragraph", "heading"):
            return " ".join(blocks[k].lines)
        return None

    first, second = para(i + 1), para(i + 2)
    if first and first[:1].islower():
        return "", first, 2
    if first and second and second[:1].islower() and not _END.search(first):
        return first, second, 3
    return "", "", 1


def _table_units(rows: list[list[str]]) -> list[str]:
    """Each data row with its header: "Größe: M; Rückenlänge: 40–47 cm"."""
    rows = [r for r in rows if any(c for c in r)]
    if len(rows) < 2 or len(rows[0]) < 2:
        return [" – ".join(c for c in r if c) for r in rows]
    header, body = rows[0], rows[1:]
    return ["; ".join(f"{h}: {c}" if h else c for h, c in zip(header, r) if c) for r in body]


def sections(text: str) -> list[Section]:
    """Split Markdown text into sections (at headings) of answer-sized units.

    A paragraph gives its sentences. A list is one unit with the sentence that introduces
    it ("Du kannst so bezahlen: Kreditkarte; Rechnung; PayPal"), or with its heading when
    it follows one directly and its items are fragments; other lists give one unit per
    item. A table row carries its
    header. Short unpunctuated title lines in plain text start a section; a figure alone
    on a line joins the text that continues it. A code block is text like a paragraph.
    """
    out: list[Section] = []
    title: str | None = None
    units: list[str] = []
    previous: _Block | None = None

    def flush_section() -> None:
        if units:
            out.append(Section(title, tuple(units)))
        units.clear()

    for block in _split_plain_headings(_blocks(text)):
        if block.kind == "heading":
            flush_section()
            title = block.lines[0] or title
        elif block.kind == "list":
            items = [i for i in block.lines if i]
            lead = None
            if previous is not None and previous.kind == "paragraph" and units \
                    and units[-1].endswith(":"):
                lead = units.pop()
            elif (previous is not None and previous.kind == "heading" and not units
                  and not any(_END.search(i) for i in items)):
                lead = f"{title}:"  # fragments under a heading; whole sentences stand alone
            if lead and items:
                units.append(f"{lead} {'; '.join(i.rstrip('.;') for i in items)}.")
            else:
                units.extend(items)
        elif block.kind == "table":
            units.extend(_table_units(block.rows or []))
        else:
            units.extend(split_sentences(" ".join(block.lines)))
        previous = block
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
