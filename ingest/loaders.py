"""Loaders: one file in, a list of ``Document`` out, or a ``LoaderError`` that says why.

Supported: Markdown with YAML front matter, plain text, HTML, PDF, DOCX, and
FAQ tables as CSV or YAML (every Q&A pair becomes its own document).

Metadata comes from the front matter (or the PDF/DOCX/HTML properties), else
from the path: anything under a folder named ``internal`` is internal, a
folder named ``faq`` holds FAQs. An audience the loader does not recognise is
treated as internal: unknown content must never reach customers by accident.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from kb import catalog
from kb.errors import LoaderError
from kb.injection import instruction_in
from kb.text import content_hash, detect_language, short_hash, split_sentences
from kb.types import Document

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".csv", ".yaml", ".yml"}
BINARY_SUFFIXES = {".pdf", ".docx"}
SUPPORTED = TEXT_SUFFIXES | BINARY_SUFFIXES

_AUDIENCE_WORDS = {
    "public": "public", "öffentlich": "public", "oeffentlich": "public", "customer": "public",
    "kunde": "public", "kunden": "public",
    "internal": "internal", "intern": "internal", "private": "internal", "agent": "internal",
    "agents": "internal", "staff": "internal",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass
class Loaded:
    """What a loader produced for one file, with notes worth reporting (e.g. encoding)."""

    documents: list[Document]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FileContext:
    path: Path
    source: str  # relative to the ingest root, POSIX style
    default_audience: str
    force_internal: bool


def load_file(path: Path, source: str, default_audience: str = "public",
              force_internal: bool = False, max_bytes: int = 20 * 2**20,
              web: bool = False) -> Loaded:
    """Load one file. Raises ``LoaderError`` with a reason a person can act on. ``web``: an
    HTML page fetched from a site, whose main content is extracted (``load_web_page``)."""
    ctx = FileContext(path, source, default_audience, force_internal)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoaderError(f"unsupported file type {suffix or '(none)'}")
    size = path.stat().st_size
    if size == 0:
        raise LoaderError("empty file")
    if size > max_bytes:
        raise LoaderError(
            f"file is {size / 2**20:.1f} MB, over the limit of {max_bytes / 2**20:.0f} MB "
            "(ingest.max_file_mb)"
        )
    data = path.read_bytes()
    if suffix in BINARY_SUFFIXES:
        return _BINARY_LOADERS[suffix](ctx, data)
    text, warnings = decode(data)
    loaded = (load_web_page if web and suffix in (".html", ".htm") else _TEXT_LOADERS[suffix])(ctx, text)
    loaded.warnings[:0] = warnings
    if not loaded.documents:
        raise LoaderError("no text found")
    return loaded


def decode(data: bytes) -> tuple[str, list[str]]:
    """UTF-8, else Latin-1 (reported); binary content is refused."""
    if b"\x00" in data[:8192]:
        raise LoaderError("binary content (NUL bytes) in a text file")
    try:
        text = data.decode("utf-8-sig")
        warnings: list[str] = []
    except UnicodeDecodeError as exc:
        text = data.decode("latin-1")
        warnings = [f"not valid UTF-8 (byte {exc.start}); read as Latin-1"]
    controls = len(_CONTROL.findall(text))
    if controls > max(3, len(text) // 200):
        raise LoaderError(
            f"undecodable bytes: {controls} control characters in {len(text)} characters; "
            "is this a binary file?"
        )
    return _CONTROL.sub(" ", text), warnings


# -- metadata ---------------------------------------------------------------------

def _audience(ctx: FileContext, declared: Any, warnings: list[str]) -> str:
    if ctx.force_internal:
        return "internal"
    if declared not in (None, ""):
        word = str(declared).strip().lower()
        if word in _AUDIENCE_WORDS:
            return _AUDIENCE_WORDS[word]
        warnings.append(f"unknown audience {declared!r}; treated as internal")
        return "internal"
    if "internal" in PurePosixPath(ctx.source).parts[:-1]:
        return "internal"
    return ctx.default_audience


def _doc_type(ctx: FileContext, declared: Any) -> str:
    if declared:
        return str(declared).strip().lower()
    parts = [p.lower() for p in PurePosixPath(ctx.source).parts[:-1]]
    if "faq" in parts:
        return "faq"
    if "internal" in parts or "notes" in parts:
        return "note"
    return "product"


def _without_instructions(text: str, warnings: list[str]) -> str:
    """The text minus sentences that give the assistant instructions (``kb.injection``).

    Such a sentence in a page is an attack on the bot, not knowledge for customers;
    leaving it out here keeps it out of every index, quote and LLM prompt.
    """
    dropped: list[str] = []
    lines = []
    for line in text.splitlines():
        sentences = split_sentences(line)
        kept = [s for s in sentences if not instruction_in(s, document=True)]
        dropped += [s for s in sentences if s not in kept]
        lines.append(line if len(kept) == len(sentences) else " ".join(kept))
    if dropped:
        warnings.append(f"left out {len(dropped)} sentence(s) that give the assistant "
                        f"instructions (possible prompt injection), e.g. “{dropped[0][:80]}”")
    return "\n".join(lines)


def _document(ctx: FileContext, text: str, title: str, meta: dict[str, Any], warnings: list[str],
              key: str = "", extra: dict[str, Any] | None = None) -> Document:
    text = _without_instructions(text, warnings).strip()
    if instruction_in(title, document=True):
        title = ""  # the file name stands in
    metadata: dict[str, Any] = {
        "audience": _audience(ctx, meta.get("audience"), warnings),
        "doc_type": _doc_type(ctx, meta.get("doc_type")),
        "language": str(meta.get("language") or detect_language(text)),
        "updated": str(meta.get("updated") or ""),
        "product": str(meta.get("product") or ""),
        "content_hash": content_hash(text),
        "source": ctx.source,
    }
    if extra:
        metadata.update(extra)
    doc_id = short_hash(ctx.source, key)
    return Document(id=doc_id, text=text, source=ctx.source, title=title.strip() or ctx.path.stem,
                    metadata=metadata)


# -- text formats -------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def load_markdown(ctx: FileContext, text: str) -> Loaded:
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    warnings: list[str] = []
    if match:
        try:
            parsed = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise LoaderError(f"invalid YAML front matter: {str(exc).splitlines()[0]}") from exc
        if parsed is not None and not isinstance(parsed, dict):
            raise LoaderError("front matter is not a mapping of key: value")
        meta = parsed or {}
        front, body_line = match.group(1), text[:match.end()].count("\n")
        text = text[match.end():]
    else:
        front, body_line = "", 0
    if not text.strip():
        raise LoaderError("no text after the front matter")
    title = str(meta.get("title") or _first_heading(text) or "")
    product = catalog.from_front_matter(meta, front, text, ctx.source, body_line)
    extra = {"catalog": catalog.dumps([product])} if product else None
    return Loaded([_document(ctx, text, title, meta, warnings, extra=extra)], warnings)


def _first_heading(text: str) -> str | None:
    m = re.search(r"^#{1,6}\s+(.+)$", text, re.M)
    return m.group(1).strip() if m else None


def load_text(ctx: FileContext, text: str) -> Loaded:
    if not text.strip():
        raise LoaderError("no text found (only white space)")
    warnings: list[str] = []
    first = text.strip().splitlines()[0][:120]
    return Loaded([_document(ctx, text, first, {}, warnings)], warnings)


def _html_meta(soup) -> dict[str, str]:
    """An HTML page's ``<meta name=… content=…>`` pairs, names lower-cased."""
    return {m.get("name", "").lower(): m.get("content", "") for m in soup.find_all("meta")
            if m.get("name")}


def load_html(ctx: FileContext, text: str) -> Loaded:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "nav", "footer"]):
        tag.decompose()
    meta = _html_meta(soup)
    title = (soup.title.get_text(" ", strip=True) if soup.title else "") or meta.get("title", "")
    lines: list[str] = []
    body = soup.body or soup
    for el in body.find_all(["h1", "h2", "h3", "h4", "p", "li", "dd", "dt", "pre", "table"]):
        if el.name == "table":
            lines.append(_markdown_table(el))
            continue
        if el.find(["p", "li", "h1", "h2", "h3", "h4", "table"]) or el.find_parent("table"):
            continue  # visited on their own, or part of a table written as a whole
        words = el.get_text(" ", strip=True)
        if not words:
            continue
        if el.name in ("h1", "h2", "h3", "h4"):
            lines.append(f"\n{'#' * int(el.name[1])} {words}\n")
        elif el.name == "li":
            lines.append(f"- {words}")
        else:
            lines.append(words + "\n")
    body_text = "\n".join(lines).strip()
    if not body_text:
        raise LoaderError("HTML has no readable text")
    warnings: list[str] = []
    return Loaded([_document(ctx, body_text, title, meta, warnings)], warnings)


def load_web_page(ctx: FileContext, text: str) -> Loaded:
    """A help-center page: its main content only. Navigation, header, footer, sidebars and
    cookie banners are the same on every page of a site and would turn up in every search,
    so trafilatura (a maintained extractor, good on boilerplate by published comparisons)
    keeps the article, with its headings, lists and tables as Markdown. A page it finds no
    article in (a short FAQ, a table alone) is read whole, as a file would be."""
    import trafilatura

    body = trafilatura.extract(text, output_format="markdown", include_tables=True,
                               include_links=False, include_comments=False,
                               include_formatting=True, url=ctx.source)
    if not body or len(body.split()) < 5:
        return load_html(ctx, text)
    found = trafilatura.extract_metadata(text, default_url=ctx.source)
    title = (found.title if found else "") or _first_heading(body) or ""
    # The page's own <meta name="audience|doc_type|product|…"> count as in a file.
    from bs4 import BeautifulSoup

    meta: dict[str, Any] = {k: v for k, v in _html_meta(BeautifulSoup(text, "html.parser")).items()
                            if k in ("audience", "doc_type", "product", "language", "updated")}
    if found and found.date and not meta.get("updated"):
        meta["updated"] = found.date
    # A help-center page explains; "faq" in its address says what it is.
    meta.setdefault("doc_type", "faq" if "faq" in ctx.source.lower() else "guide")
    warnings: list[str] = []
    return Loaded([_document(ctx, body, title, meta, warnings)], warnings)


def _markdown_table(table) -> str:
    """An HTML table as a Markdown one, so chunking can give every row its header."""
    rows = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a nested table's rows
        cells = [c.get_text(" ", strip=True).replace("|", "/") for c in tr.find_all(["th", "td"])]
        if any(cells):
            rows.append(cells)
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    out = [f"| {' | '.join(rows[0])} |", f"|{'---|' * width}"]
    out += [f"| {' | '.join(r)} |" for r in rows[1:]]
    return "\n" + "\n".join(out) + "\n"


# -- FAQ tables -----------------------------------------------------------------------

def _faq_documents(ctx: FileContext, rows: list[dict[str, Any]], defaults: dict[str, Any]) -> Loaded:
    docs: list[Document] = []
    warnings: list[str] = []
    for n, row in enumerate(rows, start=1):
        row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
        question = str(row.get("question") or row.get("frage") or "").strip()
        answer = str(row.get("answer") or row.get("antwort") or "").strip()
        if not question or not answer:
            warnings.append(f"entry {n}: question or answer missing; skipped")
            continue
        meta = {**defaults, **{k: v for k, v in row.items() if v not in (None, "")}}
        meta.setdefault("doc_type", "faq")
        category = str(meta.get("category") or meta.get("kategorie") or "")
        text = f"{question}\n{answer}"
        docs.append(_document(ctx, text, question, meta, warnings, key=f"faq:{question}",
                              extra={"faq_question": question, "faq_answer": answer,
                                     "category": category}))
    if not docs:
        raise LoaderError("FAQ has no complete question/answer pairs")
    return Loaded(docs, warnings)


def _feed_documents(ctx: FileContext, rows: list[dict[str, Any]]) -> Loaded:
    """A product feed: one document per product (its variants folded in), facts kept."""
    products, warnings = catalog.from_feed(list(enumerate(rows, start=2)), ctx.source)
    if not products:
        raise LoaderError("product feed has no rows with a product name")
    docs = []
    for product in products:
        meta = {"doc_type": "product", "product": product.name}
        docs.append(_document(ctx, catalog.feed_text(product), product.name, meta, warnings,
                              key=f"feed:{product.name}",
                              extra={"catalog": catalog.dumps([product]),
                                     "category": product.category}))
    return Loaded(docs, warnings)


def load_csv(ctx: FileContext, text: str) -> Loaded:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        rows = list(reader)
    except csv.Error as exc:
        raise LoaderError(f"malformed CSV: {exc}") from exc
    if catalog.is_feed(reader.fieldnames or []) and not {"question", "frage"} & set(fields):
        loaded = _feed_documents(ctx, rows)
    elif not ({"question", "frage"} & set(fields) and {"answer", "antwort"} & set(fields)):
        raise LoaderError(
            "CSV needs the columns question and answer (or frage and antwort) for an FAQ, or a "
            f"product name column and at least one fact column for a product feed; found {fields}"
        )
    else:
        loaded = _faq_documents(ctx, rows, {})
    # csv puts the fields beyond the header under None: an unquoted comma cut a row apart.
    overflow = [n for n, row in enumerate(rows, start=2) if row.get(None)]  # type: ignore[call-overload]
    if overflow:
        loaded.warnings.append(f"rows {', '.join(map(str, overflow))} have more fields than the "
                               "header; their answers are probably cut at an unquoted comma "
                               "(quote fields that contain commas)")
    return loaded


def load_yaml(ctx: FileContext, text: str) -> Loaded:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LoaderError(f"invalid YAML: {str(exc).splitlines()[0]}") from exc
    defaults: dict[str, Any] = {}
    if isinstance(data, dict):
        defaults = {k: v for k, v in data.items() if not isinstance(v, (list, dict))}
        data = data.get("faq") or data.get("entries") or data.get("questions")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise LoaderError("YAML FAQ must be a list of {question, answer} entries (or under 'faq:')")
    return _faq_documents(ctx, data, defaults)


# -- binary formats -------------------------------------------------------------------

def _keywords(raw: str | None) -> dict[str, str]:
    """'doc_type=product; product=AlpinPro 35' -> dict (how our generated PDFs carry metadata)."""
    out: dict[str, str] = {}
    for part in re.split(r"[;\n]", raw or ""):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip().lower()] = v.strip()
    return out


def load_pdf(ctx: FileContext, data: bytes) -> Loaded:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise LoaderError("PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except LoaderError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError,
            RecursionError, IndexError, AssertionError, ZeroDivisionError) as exc:
        raise LoaderError(f"corrupt PDF: {exc.__class__.__name__}: {str(exc)[:160]}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise LoaderError("PDF has no extractable text (scanned image?)")
    meta = _keywords(info.get("/Keywords") if hasattr(info, "get") else None)
    title = str(info.get("/Title") or "") if hasattr(info, "get") else ""
    text = _restore_headings(text, title, meta.pop("headings", ""))
    warnings: list[str] = []
    return Loaded([_document(ctx, text, title, meta, warnings)], warnings)


def _restore_headings(text: str, title: str, headings: str) -> str:
    """PDF text has no heading markup; the title and the headings listed in the metadata get it back."""
    if title:
        text = re.sub(rf"^{re.escape(title)}\s*$", f"# {title}", text, count=1, flags=re.M)
    for heading in filter(None, (h.strip() for h in headings.split("|"))):
        text = re.sub(rf"^{re.escape(heading)}\s*$", f"## {heading}", text, count=1, flags=re.M)
    return text


def load_docx(ctx: FileContext, data: bytes) -> Loaded:
    import zipfile

    from docx import Document as DocxDocument

    try:
        doc = DocxDocument(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoaderError(f"corrupt DOCX: {exc.__class__.__name__}: {str(exc)[:160]}") from exc
    except MemoryError:
        raise  # a bomb, reported as such by ingest.isolation
    except Exception as exc:  # python-docx raises its own family for broken parts
        raise LoaderError(f"corrupt DOCX: {exc.__class__.__name__}: {str(exc)[:160]}") from exc
    lines: list[str] = []
    for para in doc.paragraphs:
        words = para.text.strip()
        if not words:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        if level:
            lines.append(f"\n{'#' * int(level.group(1))} {words}\n")
        elif style.startswith("List"):
            lines.append(f"- {words}")
        else:
            lines.append(words + "\n")
    for table in doc.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells]
            lines.append(" | ".join(cells))
    text = "\n".join(lines).strip()
    if not text:
        raise LoaderError("DOCX has no text")
    props = doc.core_properties
    meta = _keywords(props.keywords)
    warnings: list[str] = []
    return Loaded([_document(ctx, text, props.title or "", meta, warnings)], warnings)


_TEXT_LOADERS: dict[str, Callable[[FileContext, str], Loaded]] = {
    ".md": load_markdown, ".markdown": load_markdown, ".txt": load_text,
    ".html": load_html, ".htm": load_html, ".csv": load_csv, ".yaml": load_yaml, ".yml": load_yaml,
}
_BINARY_LOADERS: dict[str, Callable[[FileContext, bytes], Loaded]] = {
    ".pdf": load_pdf, ".docx": load_docx,
}
