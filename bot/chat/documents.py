"""What Lotse knows, document by document, and what staff change about it.

    >>> browser = DocumentBrowser(engine, state)
    >>> docs = browser.documents()               # every document, with its failure if any
    >>> doc, chunks = browser.chunks(docs[0].key)  # its chunks as retrieval sees them
    >>> browser.exclude(docs[0].key, who="admin")  # gone from answers, logged

A document is one file of a folder or one web page, named by its ingest root and source.
Changes are kept with the store (``overrides`` in the generation's info, carried into
every later generation), so any ingest, from the CLI, the schedule or the admin page,
respects them; each change publishes a new generation at once, re-reads only that
document, and is written to the audit log with who made it.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.chat.engine import Engine
from bot.chat.state import StateStore
from ingest.sync import SyncReport, override_key
from kb.errors import InvalidInput, NotFound
from kb.types import AUDIENCES


class NoSuchDocument(NotFound):
    """The document key names no document of the live generation or its overrides."""


@dataclass
class DocumentInfo:
    """One document as the admin sees it. ``status``: live, excluded, or failed (the last
    ingest could not read it; ``failure`` says why, and a live document keeps its stored
    version)."""

    key: str
    root: str
    source: str
    title: str = ""
    audience: str = ""
    doc_type: str = ""
    language: str = ""
    chunks: int = 0
    changed_at: float | None = None
    status: str = "live"
    failure: str = ""
    override: dict[str, Any] = field(default_factory=dict)
    cited: int = 0  # answers citing it in the usage window
    helpful: int = 0
    unhelpful: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def document_key(root: str, source: str) -> str:
    return hashlib.sha256(override_key(root, source).encode()).hexdigest()[:16]


class DocumentBrowser:
    """Documents of the live generation, their chunks, usage, and the staff's changes."""

    def __init__(self, engine: Engine, state: StateStore) -> None:
        self.engine = engine
        self.state = state

    def documents(self, usage_days: int = 30) -> list[DocumentInfo]:
        """Every document: live ones, excluded ones, and those the last ingest that
        covered them could not read; with how often answers cited each lately."""
        gen = self.engine.store.current(force=True)
        docs: dict[tuple[str, str], DocumentInfo] = {}
        if gen is not None:
            for audience in AUDIENCES:
                for meta in gen.metadatas(audience):
                    root, source = str(meta.get("root", "")), str(meta.get("source", ""))
                    doc = docs.get((root, source))
                    if doc is None:
                        doc = docs[(root, source)] = DocumentInfo(
                            document_key(root, source), root, source,
                            str(meta.get("title", "")), str(meta.get("audience", "")),
                            str(meta.get("doc_type", "")), str(meta.get("language", "")))
                    doc.chunks += 1
                    stamp = meta.get("ingested_at")
                    if isinstance(stamp, (int, float)):
                        doc.changed_at = max(doc.changed_at or 0.0, float(stamp))
            for okey, rule in (gen.info.get("overrides") or {}).items():
                root, _, source = okey.partition("|")
                doc = docs.get((root, source))
                if doc is None:  # not in the store: excluded, or waiting to be read again
                    doc = docs[(root, source)] = DocumentInfo(
                        document_key(root, source), root, source, str(rule.get("title", "")),
                        str(rule.get("audience", "")), str(rule.get("doc_type", "")),
                        str(rule.get("language", "")), status="failed")
                doc.override = dict(rule)
                if rule.get("excluded"):
                    doc.status = "excluded"
        # The newest failure of each document, unless it was read well since.
        for run in self.state.ingest_runs(limit=20):
            for failure in run.report.get("failures", []):
                root, source = failure.get("root", ""), failure["file"]
                doc = docs.get((root, source))
                if doc is None and root:  # never read: listed so it can be fixed and retried
                    doc = docs[(root, source)] = DocumentInfo(document_key(root, source), root,
                                                              source, status="failed")
                if doc is not None and not doc.failure and \
                        (doc.changed_at is None or run.started_at > doc.changed_at):
                    doc.failure = failure["reason"]
        usage = self.usage(usage_days)
        for doc in docs.values():
            doc.cited, doc.helpful, doc.unhelpful = usage.get(doc.source, (0, 0, 0))
        return sorted(docs.values(), key=lambda d: (d.status != "failed", d.root, d.source))

    def usage(self, days: int = 30) -> dict[str, tuple[int, int, int]]:
        """By source: answers citing it in the last ``days`` days, rated helpful, unhelpful."""
        counts: dict[str, list[int]] = {}
        for sources, rating in self.state.cited(time.time() - days * 86400):
            for source in sources:
                c = counts.setdefault(source, [0, 0, 0])
                c[0] += 1
                c[1] += rating is not None and rating > 0
                c[2] += rating is not None and rating < 0
        return {s: (c[0], c[1], c[2]) for s, c in counts.items()}

    def document(self, key: str) -> DocumentInfo:
        for doc in self.documents():
            if doc.key == key:
                return doc
        raise NoSuchDocument(f"no document {key[:40]!r} (keys come from the document list)")

    def chunks(self, key: str) -> tuple[DocumentInfo, list[dict[str, Any]]]:
        """The document, and its chunks as retrieval sees them: text, section, audience,
        position (one look at the store for both)."""
        doc = self.document(key)
        gen = self.engine.store.current(force=True)
        out = []
        for audience in AUDIENCES:
            for chunk, _ in gen.chunks(audience) if gen else ():
                meta = chunk.metadata
                if meta.get("source") == doc.source and meta.get("root") == doc.root:
                    out.append({"id": chunk.id, "position": chunk.position,
                                "section": chunk.section, "audience": chunk.audience,
                                "text": chunk.text, "sentences": meta.get("sentences")})
        return doc, sorted(out, key=lambda c: c["position"])

    # -- changes ---------------------------------------------------------------------------
    def exclude(self, key: str, who: str) -> SyncReport:
        """Leave the document out of every answer until it is included again."""
        return self._change(key, who, "exclude", {"excluded": True})

    def include(self, key: str, who: str) -> SyncReport:
        """Undo ``exclude``: the document is read again."""
        return self._change(key, who, "include", None)

    def set_audience(self, key: str, audience: str, who: str) -> SyncReport:
        """Who may see the document's chunks, whatever its file says."""
        if audience not in AUDIENCES:
            raise InvalidInput(f"audience {audience!r} is not one of {', '.join(AUDIENCES)}")
        return self._change(key, who, "set_audience", {"audience": audience}, detail=audience)

    def reingest(self, key: str, who: str) -> SyncReport:
        """Read the document again now, changed or not."""
        doc = self.document(key)
        return self._sync(doc, who, "reingest", None)

    def _change(self, key: str, who: str, action: str, rule: dict[str, Any] | None,
                detail: str = "") -> SyncReport:
        doc = self.document(key)
        kept = {k: v for k, v in doc.override.items() if k not in ("by", "at", "excluded")}
        if rule is not None:  # with what the list shows of it, should it leave the store
            shown = {"title": doc.title, "doc_type": doc.doc_type, "language": doc.language}
            rule = {**shown, **kept, **rule, "by": who, "at": time.time()}
        elif kept:  # including again keeps an audience that was set
            rule = {**kept, "by": who, "at": time.time()}
        return self._sync(doc, who, action, rule, detail, change=True)

    def _sync(self, doc: DocumentInfo, who: str, action: str, rule: dict[str, Any] | None,
              detail: str = "", change: bool = False) -> SyncReport:
        started = time.time()
        okey = override_key(doc.root, doc.source)
        report = self.engine.syncer.sync(only={(doc.root, doc.source)},
                                         overrides={okey: rule} if change else None,
                                         lock_timeout=60)
        self.state.add_ingest_run("document", who, [doc.source], started, report.to_dict())
        self.state.audit(who, action, doc.source, detail or report.summary().splitlines()[0])
        return report
