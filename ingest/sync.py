"""Incremental, atomic sync of folders into the store.

The manifest is derived from the live generation itself: every chunk records
its ingest root, its file and the hash of that file (with the chunking settings
and the embedder folded in). A sync therefore

* embeds nothing for a file whose hash is unchanged (its vectors are copied),
* replaces exactly the chunks of a changed file,
* drops the chunks of a file that disappeared from a root being synced,
* keeps the stored version of a file that now fails to load, and reports why,

and then publishes the result as a new generation in one pointer flip. With
nothing added, updated or removed it publishes nothing at all. One writer at a
time holds the store's writer lock (``ChunkStore.writing``), on one machine or across
several; readers never wait for it.

    >>> report = Syncer(store, embedder, settings).sync([Path("docs_corpus")])
    >>> print(report.summary())
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.chunking import chunk_document, chunk_units
from ingest.embedding import ChunkWriter, Progress
from ingest.isolation import IsolatedLoader
from ingest.loaders import SUPPORTED
from kb.embedders import Embedder
from kb.errors import LoaderError, LotseError, StoreError
from kb.generation import Generation
from kb.lexical import LexicalIndex
from kb.memory import release
from kb.retrieval import VIEWS, lexical_index
from kb.settings import IngestSettings, LotseSettings, WebSourceSettings
from kb.store import ChunkStore
from kb.text import content_hash
from kb.types import AUDIENCES, Chunk
from kb.vocabulary import VOCABULARY_FILE, Vocabulary, VocabularyError

if TYPE_CHECKING:  # the crawler (and httpx) load only for an ingest with web sources
    from ingest.web import Fetched, PageState, WebClient

log = logging.getLogger(__name__)

@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    failed_roots: dict[str, str] = field(default_factory=dict)  # source → its ingest root
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    web: list[dict] = field(default_factory=list)  # per web source: pages fetched, 304s, time
    chunks_embedded: int = 0
    chunks_total: int = 0
    generation: str | None = None
    published: bool = False
    seconds: float = 0.0

    def fail(self, source: str, root: str, reason: str) -> None:
        """A file or page that could not be read; its stored version stays."""
        self.failed.append((source, reason))
        self.failed_roots[source] = root

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("added", "updated", "removed", "unchanged", "failed")}

    def to_dict(self) -> dict:
        return {
            **self.counts(),
            "failures": [{"file": f, "reason": r, "root": self.failed_roots.get(f, "")}
                         for f, r in self.failed],
            "skipped_files": [{"file": f, "reason": r} for f, r in self.skipped],
            "warnings": [{"file": f, "message": m} for f, m in self.warnings],
            "web": self.web,
            "chunks_embedded": self.chunks_embedded,
            "chunks_total": self.chunks_total,
            "generation": self.generation,
            "published": self.published,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        c = self.counts()
        lines = [
            f"added {c['added']}, updated {c['updated']}, removed {c['removed']}, "
            f"unchanged {c['unchanged']}, failed {c['failed']}",
            f"chunks embedded {self.chunks_embedded}, chunks in store {self.chunks_total}, "
            f"{'published generation ' + str(self.generation) if self.published else 'nothing to publish'}"
            f" ({self.seconds:.1f} s)",
        ]
        lines += [f"web {w['source']}: {w['fetched']} pages fetched, {w['not_modified']} "
                  f"unchanged (304), {w['requests']} requests, {w['seconds']:.1f} s"
                  for w in self.web]
        lines += [f"FAILED {f}: {r}" for f, r in self.failed]
        lines += [f"skipped {f}: {r}" for f, r in self.skipped]
        lines += [f"warning {f}: {m}" for f, m in self.warnings]
        return "\n".join(lines)


@dataclass
class _FileState:
    root: str
    source: str
    file_hash: str
    doc_ids: set[str] = field(default_factory=set)
    page: PageState | None = None  # a web page's ETag, Last-Modified and links
    audience: str = ""  # of its chunks as stored
    ingest_audience: str = ""  # the audience it was ingested with ("": none given)


def web_root(source: WebSourceSettings) -> str:
    """The ingest root of a web source's pages (a folder's is its absolute path)."""
    return f"web:{source.url}"


def override_key(root: str, source: str) -> str:
    """How a document is named in the overrides (``exclude``, ``audience``)."""
    return f"{root}|{source}"


def scan(root: Path) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Files under ``root`` (or ``root`` itself) as (path, source) pairs, plus skipped ones."""
    if root.is_file():
        return [(root, root.name)], []
    files, skipped = [], []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if rel.as_posix() == VOCABULARY_FILE:  # read by the syncer, not a document
            continue
        if path.is_symlink():
            skipped.append((rel.as_posix(), "symbolic link not followed"))
        elif path.suffix.lower() in SUPPORTED:
            files.append((path, rel.as_posix()))
        else:
            skipped.append((rel.as_posix(), f"unsupported file type {path.suffix or '(none)'}"))
    return files, skipped


class Syncer:
    """Brings the store in line with one or more folders."""

    def __init__(self, store: ChunkStore, embedder: Embedder, settings: LotseSettings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        # How web pages are fetched: ingest.web.WebClient; tests put one here whose
        # resolver and network are stand-ins (it takes the ingest settings).
        self.web_client: Callable[[IngestSettings], WebClient] | None = None

    def _fingerprint(self) -> str:
        """Folded into every file hash: new chunking or a new embedder re-embeds everything."""
        return json.dumps({"chunking": self.settings.chunking.model_dump(),
                           "embedder": self.embedder.name, "v": 2}, sort_keys=True)

    def sync(self, roots: Iterable[Path] = (), audience: str | None = None,
             progress: Progress | None = None, lock_timeout: float = 600,
             sources: Iterable[WebSourceSettings] = (), only: set[tuple[str, str]] | None = None,
             overrides: dict[str, dict | None] | None = None) -> SyncReport:
        """Bring the store in line with folders ``roots`` and web ``sources``.

        ``only``: just these documents (ingest root, source), read again even when
        unchanged; everything else stays as stored. ``overrides``: changes to the staff's
        per-document settings (``{"excluded": True}``, ``{"audience": "internal"}``, or None
        to drop them), which the new generation keeps for every later sync."""
        roots = [Path(r) for r in roots]
        missing = [str(r) for r in roots if not r.exists()]
        if missing:
            raise LotseError(f"no such file or folder: {', '.join(missing)}")
        try:
            with self.store.writing(wait=lock_timeout):
                return self._sync(roots, list(sources), audience, progress, only, overrides or {})
        finally:
            release()  # what the parser, embedding and writing threads freed goes back

    def _sync(self, roots: list[Path], sources: list[WebSourceSettings], audience: str | None,
              progress: Progress | None, only: set[tuple[str, str]] | None,
              changes: dict[str, dict | None]) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        live = self.store.current(force=True)
        old = self._manifest(live) if live else {}
        fingerprint = self._fingerprint()
        overrides = {**((live.info.get("overrides") or {}) if live else {}), **changes}
        overrides = {k: v for k, v in overrides.items() if v}

        keep_docs: set[str] = set()
        seen: set[tuple[str, str]] = set()
        new_docs: set[str] = set()
        new_files: set[tuple[str, str]] = set()
        listing: list[tuple[str, Path, str]] = []
        if only is None:
            for root in roots:
                root_key = str(root.resolve() if root.is_dir() else root.resolve().parent)
                files, skipped = scan(root)
                report.skipped += skipped
                listing += [(root_key, path, source) for path, source in files]
            synced_roots = {r for r, _, _ in listing} | {
                str(r.resolve()) for r in roots if r.is_dir()} | {web_root(s) for s in sources}
            vocabulary = self._vocabulary(roots, live, report)
        else:  # one document (or a few) read again, as they were first ingested
            listing = [(r, Path(r) / s, s) for r, s in sorted(only) if not r.startswith("web:")]
            sources = [WebSourceSettings(url=s, mode="page", audience=old[(r, s)].ingest_audience
                                         or None if (r, s) in old else None)
                       for r, s in sorted(only) if r.startswith("web:")]
            synced_roots = set()
            vocabulary = dict((live.info.get("vocabulary") or {}) if live else {})

        limits = self.settings.ingest
        with ChunkWriter(self.store, self.embedder, live.id if live else None,
                         self.settings.embedding.batch_size, progress) as chunks:

            def take(key: tuple[str, str], loaded: list[Chunk] | None) -> None:
                previous = old.get(key)
                wanted = (overrides.get(override_key(*key)) or {}).get("audience")
                if loaded is None and previous and wanted and wanted != previous.audience:
                    # Its audience was changed but it could not be read again: left out
                    # rather than shown to the wrong people.
                    report.warnings.append((key[1], f"left out until it can be read again "
                                            f"with its new audience ({wanted})"))
                    report.removed.append(key[1])
                elif loaded is None:  # unchanged or failed: the stored version stays
                    keep_docs.update(previous.doc_ids if previous else ())
                elif loaded:
                    new_docs.update(c.doc_id for c in loaded)
                    new_files.add(key)
                    chunks.add(loaded)

            with IsolatedLoader(limits.file_timeout_seconds, limits.file_memory_mb) as loader:
                for done, (root_key, path, source) in enumerate(listing, start=1):
                    if progress:
                        progress("load", done, len(listing))
                    key = (root_key, source)
                    excluded = self._excluded(overrides, key, report)
                    if excluded:
                        continue
                    seen.add(key)
                    given = audience
                    if only is not None and key in old:
                        given = old[key].ingest_audience or None
                    take(key, self._load(loader, path, source, root_key, old.get(key), given,
                                         fingerprint, report, chunks, overrides,
                                         force=only is not None))
                for source_settings in sources:
                    self._crawl(source_settings, old, only, loader, audience, fingerprint,
                                report, chunks, overrides, seen, take)

            for key, state in old.items():
                if key in seen:
                    continue
                if key[0] in synced_roots or (only is not None and key in only):
                    report.removed.append(state.source)
                else:  # another root, not part of this sync
                    keep_docs |= state.doc_ids

            if report.changed or changes or live is None and chunks.added:
                files = {k for k, state in old.items() if state.doc_ids & keep_docs} | new_files
                self._publish(live, keep_docs, chunks, report, vocabulary, len(files),
                              len(new_docs | keep_docs), overrides)
            else:
                report.generation = live.id if live else None
                report.chunks_total = sum(live.count(a) for a in AUDIENCES) if live else 0
        report.seconds = time.monotonic() - started
        return report

    @staticmethod
    def _excluded(overrides: dict[str, dict], key: tuple[str, str], report: SyncReport) -> bool:
        rule = overrides.get(override_key(*key)) or {}
        if rule.get("excluded"):
            report.skipped.append((key[1], f"excluded by {rule.get('by') or 'an admin'}"))
            return True
        return False

    def _crawl(self, source: WebSourceSettings, old: dict[tuple[str, str], _FileState],
               only: set[tuple[str, str]] | None, loader: IsolatedLoader, audience: str | None,
               fingerprint: str, report: SyncReport, chunks: ChunkWriter,
               overrides: dict[str, dict], seen: set[tuple[str, str]],
               take: Callable[[tuple[str, str], list[Chunk] | None], None]) -> None:
        """The pages of one web source: fetched, read when new or changed, kept when the
        server says they are unchanged or fail now, and left out when gone."""
        from ingest.web import CrawlStats, PageState, WebClient, crawl

        audience = source.audience or audience
        if only is None:
            root = web_root(source)
            previous = {k[1]: s for k, s in old.items() if k[0] == root}
        else:  # one stored page, asked for again
            root = next(r for r, s in only if s == source.url)
            previous = {}
        # The validators count only for pages stored as they would be read now: with this
        # embedder, chunking and audience; any other is read whole again.
        fp = content_hash((fingerprint + (audience or "")).encode())
        asked = {u: s.page if s.page and s.page.fp == fp else PageState(
            links=s.page.links if s.page else ()) for u, s in previous.items()}
        elsewhere = {k[1]: k[0] for k in old if k[0].startswith("web:") and k[0] != root}
        bodies: dict[str, str] = {}  # "/" and "/index.html" are often one page
        stats = CrawlStats()
        with (self.web_client or WebClient)(self.settings.ingest) as client:
            for page in crawl(client, source, asked, stats):
                key = (root, page.url)
                moved = override_key(root, page.asked)
                if page.asked != page.url and moved in overrides and \
                        override_key(*key) not in overrides:  # staff's choice moves with it
                    overrides[override_key(*key)] = overrides.pop(moved)
                if page.status in ("gone", "skipped") and page.asked == source.url and \
                        key not in old:  # the address asked for itself: a failure
                    report.fail(page.url, root, page.reason)
                    continue
                if page.status == "gone":  # removed below if it was stored
                    if key not in old:
                        report.skipped.append((page.url, page.reason))
                    else:
                        report.warnings.append((page.url, f"removed: {page.reason}"))
                    continue
                twin = bodies.setdefault(hashlib.sha256(page.body).hexdigest(), page.url) \
                    if page.body else page.url
                if page.status == "skipped" or page.url in elsewhere or twin != page.url or \
                        any(k[1] == page.url and k != key for k in seen):
                    first = elsewhere.get(page.url) or "another source"
                    why = page.reason or (f"the same page as {twin}" if twin != page.url
                                          else f"read already from {first}")
                    report.skipped.append((page.url, why))
                    continue
                if self._excluded(overrides, key, report):
                    continue
                seen.add(key)
                if page.status == "failed":
                    report.fail(page.url, root, page.reason)
                    take(key, None)
                elif page.status == "not_modified" and key in old:
                    report.unchanged.append(page.url)
                    take(key, None)
                elif page.status == "not_modified":  # a 304 for a page Lotse does not have
                    report.fail(page.url, root, "the server says unchanged (304), but "
                                "nothing is stored for this address")
                else:
                    take(key, self._load_page(loader, page, root, old.get(key), audience,
                                              fingerprint, fp, report, chunks, overrides,
                                              force=only is not None))
        report.warnings += [(source.url, note) for note in stats.notes]
        for error in stats.errors:
            report.fail(source.url, root, error)
        report.web.append({"source": source.url, "fetched": stats.fetched,
                           "not_modified": stats.not_modified, "requests": stats.requests,
                           "seconds": round(stats.seconds, 3)})

    def _load_page(self, loader: IsolatedLoader, page: Fetched, root: str,
                   previous: _FileState | None, audience: str | None, fingerprint: str,
                   fp: str, report: SyncReport, chunks: ChunkWriter,
                   overrides: dict[str, dict], force: bool) -> list[Chunk] | None:
        """A fetched page read like a file of its type; unchanged when its text is (pages
        carry tokens and dates that change on every request, so the bytes would not do)."""
        with tempfile.TemporaryDirectory(prefix="lotse-page-") as folder:
            path = Path(folder) / f"page{page.suffix}"
            path.write_bytes(page.body)
            extra = {"web": json.dumps({"etag": page.etag, "last_modified": page.last_modified,
                                        "links": list(page.links), "fp": fp},
                                       ensure_ascii=False)}
            return self._load(loader, path, page.url, root, previous, audience, fingerprint,
                              report, chunks, overrides, force, web=True, first_extra=extra)

    def _load(self, loader: IsolatedLoader, path: Path, source: str, root_key: str,
              previous: _FileState | None, audience: str | None, fingerprint: str,
              report: SyncReport, chunks: ChunkWriter, overrides: dict[str, dict],
              force: bool = False, web: bool = False,
              first_extra: dict[str, str] | None = None) -> list[Chunk] | None:
        """The chunks of one file (or fetched page), or None when the stored version stays
        (it is unchanged, or fails to load now); outcomes are recorded in ``report``."""
        max_bytes = int(self.settings.ingest.max_file_mb * 2**20)
        given = audience or ""
        audience = (overrides.get(override_key(root_key, source)) or {}).get("audience") or audience
        salt = fingerprint.encode() + (audience or "").encode()
        if not web:  # a file is unchanged when its bytes are
            try:
                raw = path.read_bytes() if path.stat().st_size <= max_bytes else b""
            except OSError as exc:
                report.fail(source, root_key, str(exc))
                return None
            file_hash = content_hash(raw + salt)
            if previous and previous.file_hash == file_hash and raw and not force:
                report.unchanged.append(source)
                return None
            # Changed: the model loads while this file and the next are parsed (a file too
            # big to read fails without it). An embedder that cannot start ends the ingest;
            # it is not this file's failure.
            if raw:
                chunks.expect()
        try:
            loaded = loader.load(path, source, audience or self.settings.ingest.default_audience,
                                 audience == "internal", max_bytes, web=web)
        except (LoaderError, OSError) as exc:
            report.fail(source, root_key, str(exc))
            return None
        except Exception as exc:  # a loader bug must not end the batch
            log.exception("unexpected error loading %s", source)
            report.fail(source, root_key, f"unexpected {exc.__class__.__name__}: {exc}")
            return None
        if web:  # a page when its text is
            file_hash = content_hash("\n".join(d.text for d in loaded.documents).encode() + salt)
            if previous and previous.file_hash == file_hash and not force:
                report.unchanged.append(source)
                return None
            chunks.expect()
        report.warnings += [(source, w) for w in loaded.warnings]
        extra = {"root": root_key, "file_hash": file_hash, "ingested_at": time.time(),
                 "ingest_audience": given}
        if audience and (overrides.get(override_key(root_key, source)) or {}).get("audience"):
            extra["audience"] = audience  # the staff's choice beats what the file says
        (report.updated if previous else report.added).append(source)
        return [Chunk(c.id, c.doc_id, c.text, c.position, c.section,
                      {**c.metadata, **extra, "sentences": len(chunk_units(c)),
                       **(first_extra if first_extra and c.position == 0 else {})})
                for doc in loaded.documents for c in chunk_document(doc, self.settings.chunking)]

    def _manifest(self, gen: Generation) -> dict[tuple[str, str], _FileState]:
        files: dict[tuple[str, str], _FileState] = {}
        for audience in AUDIENCES:
            for meta in gen.metadatas(audience):
                key = (str(meta.get("root", "")), str(meta.get("source", "")))
                state = files.setdefault(key, _FileState(key[0], key[1], str(meta.get("file_hash", ""))))
                state.doc_ids.add(str(meta.get("doc_id", "")))
                state.audience = str(meta.get("audience", ""))
                state.ingest_audience = str(meta.get("ingest_audience", ""))
                if meta.get("web"):
                    from ingest.web import PageState

                    web = json.loads(str(meta["web"]))
                    state.page = PageState(web.get("etag", ""), web.get("last_modified", ""),
                                           tuple(web.get("links", ())), web.get("fp", ""))
        return files

    @staticmethod
    def _vocabulary(roots: list[Path], live: Generation | None,
                    report: SyncReport) -> dict[str, dict[str, dict[str, str]]]:
        """The vocabulary files of the next generation, by ingest root: the synced folders'
        files as they are now, the other roots' as published. A broken file is reported
        and its published version kept."""
        parts = dict((live.info.get("vocabulary") or {}) if live else {})
        for root in (r for r in roots if r.is_dir()):
            key, path = str(root.resolve()), root / VOCABULARY_FILE
            if not path.is_file():
                if parts.pop(key, None) is not None:
                    report.removed.append(VOCABULARY_FILE)
                continue
            try:
                entries = Vocabulary.parse(path.read_text(encoding="utf-8"), VOCABULARY_FILE)
            except (VocabularyError, OSError, UnicodeDecodeError) as exc:
                report.failed.append((VOCABULARY_FILE, str(exc)))
                continue
            if parts.get(key) == entries:
                report.unchanged.append(VOCABULARY_FILE)
            else:
                (report.updated if key in parts else report.added).append(VOCABULARY_FILE)
                parts[key] = entries
        return parts

    def _publish(self, live: Generation | None, keep_docs: set[str], chunks: ChunkWriter,
                 report: SyncReport, vocabulary: dict[str, dict[str, dict[str, str]]],
                 files: int, documents: int, overrides: dict[str, dict]) -> None:
        # The lexical indexes come from the chunks in hand, built while the last batches
        # are still being embedded rather than read back from the store afterwards.
        kept = [c for a in AUDIENCES for c, _ in live.chunks(a) if c.doc_id in keep_docs] \
            if live and keep_docs else []
        everything = chunks.added + kept
        indexes: dict[str, LexicalIndex] = {}
        built: dict[tuple[str, ...], LexicalIndex] = {}
        for view, audiences in VIEWS.items():
            present = tuple(a for a in audiences if any(c.audience == a for c in everything))
            if present not in built:  # views with the same chunks share one index
                built[present] = lexical_index(c for c in everything if c.audience in present)
            indexes[view] = built[present]
        writer = chunks.finish()
        copied = writer.copy_from(live, keep_docs) if live and keep_docs else 0
        report.chunks_embedded = chunks.written
        gen = writer.as_generation()
        self._smoke_test(gen, chunks.probe)
        counts = writer.counts()
        expected_chunks = copied + chunks.written
        got_chunks = sum(n for k, n in counts.items() if k.endswith("_chunks"))
        if got_chunks != expected_chunks or len(everything) != expected_chunks:
            raise StoreError(f"new generation holds {got_chunks} chunks, expected {expected_chunks}"
                             f" (and {len(everything)} in the lexical index)")
        for view, index in indexes.items():
            index.save(gen.cache_dir / f"lexical-{view}")
        published = writer.publish({"embedder": self.embedder.name, "dim": self.embedder.dim,
                                    "chunks": got_chunks, "vocabulary": vocabulary,
                                    "files": files, "documents": documents,
                                    "overrides": overrides})
        report.generation = published.id
        report.published = True
        report.chunks_total = got_chunks

    @staticmethod
    def _smoke_test(gen: Generation, probe: tuple[Chunk, np.ndarray] | None) -> None:
        """A new chunk must be found by its own vector before readers are switched over."""
        if probe is None:
            return
        chunk, vector = probe
        found = gen.query(vector, (chunk.audience,), 3)
        # Identical texts (the same file uploaded several times) share one vector and tie:
        # any of them at the probe's own similarity proves the write.
        if not any(m.id == chunk.id or m.similarity >= 1 - 1e-4 for m, _ in found):
            raise StoreError("validation failed: a freshly written chunk is not retrievable")


def console_progress() -> Progress | None:
    """A tqdm bar on a terminal; None (plain summary only) otherwise."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="file" if stage == "load" else "chunk",
                                     file=sys.stderr, leave=False)
        bar.total = total  # chunks are embedded while files are still being found
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update

