"""What staff do to the knowledge base: upload files, re-ingest folders, look at the store.

The admin UI and ``POST /v1/ingest`` / ``POST /v1/uploads`` both go through
``AdminService``, so both refuse the same things for the same reasons:

- an upload keeps only the last part of its name, reduced to safe characters,
  so ``../../etc/passwd`` or ``C:\\x\\y.md`` can never leave the upload folder;
- an upload must have a type the loaders read and fit under ``server.max_upload_mb``;
  archives are not accepted at all (no zip bombs to defuse);
- a re-ingest may only touch the upload folder and ``server.ingest_roots``, and fetch
  web pages only from ``ingest.web_hosts`` when that is set, and only from public
  addresses (which the crawler checks again at every connection).
"""

from __future__ import annotations

import re
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.chat.engine import Engine
from bot.chat.metrics import Metrics
from bot.chat.state import IngestRun, StateStore
from ingest.loaders import SUPPORTED
from ingest.sync import Progress, SyncReport
from kb.errors import Forbidden, InvalidInput, LotseError, StoreError, TooLarge, UnsupportedType
from kb.settings import WebSourceSettings
from kb.types import AUDIENCES

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class UploadRejected(InvalidInput):
    """An uploaded file was refused; the message names the file and the reason."""


class UploadTooLarge(UploadRejected, TooLarge):
    """An upload is over ``server.max_upload_mb``."""


class UploadTypeRefused(UploadRejected, UnsupportedType):
    """An upload's file type is not one the loaders read."""


class PathRefused(Forbidden):
    """A re-ingest asked for a folder outside the allowed ones."""


class WebAddressProblem(LotseError):
    """Why the server will not read an admin's web address, as data for a page to word in
    its own language: ``why`` is ``not_http``, ``host_unknown``, ``host_not_listed`` (with
    the allowed ``hosts``) or ``not_public``; ``host`` is the address's host."""

    def __init__(self, message: str, why: str, host: str = "", hosts: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.why, self.host, self.hosts = why, host, tuple(hosts)


class WebAddressRefused(WebAddressProblem, PathRefused):
    """A web address the server may not read (not an allowed host, not a public address)."""


class WebAddressInvalid(WebAddressProblem, InvalidInput):
    """A web address that is not one (not http(s), a host no name server knows)."""


def safe_name(name: str) -> str:
    """The file name an upload is stored under: no folders, no dot files, plain characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base.replace("ß", "ss")).encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", base).strip(" .")
    return base[:120]


@dataclass(frozen=True)
class StoreStats:
    generation: str | None
    documents: int
    chunks: int
    published_at: float | None
    embedder: str

    def to_dict(self) -> dict:
        return {"generation": self.generation, "documents": self.documents, "chunks": self.chunks,
                "published_at": self.published_at, "embedder": self.embedder}


class AdminService:
    """Uploads, re-ingest (folders and web sources), generations and store statistics over
    the syncer of ``engine``; every ingest is recorded in ``state`` when one is given."""

    def __init__(self, engine: Engine, upload_dir: Path, ingest_roots: list[Path],
                 metrics: Metrics | None = None, state: StateStore | None = None) -> None:
        self.engine = engine
        self.state = state
        self.metrics = metrics or Metrics()
        self.upload_dir = Path(upload_dir).resolve()
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_roots = [Path(r).resolve() for r in ingest_roots]
        self.max_bytes = int(engine.settings.server.max_upload_mb * 2**20)

    @property
    def accepted_suffixes(self) -> list[str]:
        """File types an upload may have (the loaders' types), e.g. ``[".csv", ".docx", …]``."""
        return sorted(SUPPORTED)

    def save_upload(self, name: str, source: Path | bytes, audience: str = "public") -> Path:
        """Store one uploaded file in the upload folder (``internal/`` for internal ones)."""
        if audience not in AUDIENCES:
            raise UploadRejected(f"{name}: unknown audience {audience!r}")
        clean = safe_name(name)
        if not clean or clean.startswith("."):
            raise UploadRejected(f"{name!r}: not a usable file name")
        suffix = Path(clean).suffix.lower()
        if suffix not in SUPPORTED:
            allowed = ", ".join(sorted(SUPPORTED))
            raise UploadTypeRefused(f"{clean}: file type {suffix or '(none)'} is not accepted "
                                 f"(allowed: {allowed})")
        size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
        if size > self.max_bytes:
            raise UploadTooLarge(f"{clean}: {size / 2**20:.1f} MB is over the upload limit of "
                                 f"{self.max_bytes / 2**20:.0f} MB")
        if size == 0:
            raise UploadRejected(f"{clean}: the file is empty")
        folder = self.upload_dir / "internal" if audience == "internal" else self.upload_dir
        folder.mkdir(parents=True, exist_ok=True)
        target = (folder / clean).resolve()
        if target.parent != folder.resolve():  # belt and braces after safe_name
            raise UploadRejected(f"{name!r}: the name points outside the upload folder")
        partial = target.with_name(f".{clean}.part")
        if isinstance(source, bytes):
            partial.write_bytes(source)
        else:
            shutil.copyfile(source, partial)
        partial.replace(target)
        return target

    def allowed_path(self, raw: str | Path) -> Path:
        """``raw`` resolved, if it lies in the upload folder or an ingest root."""
        if any(ord(c) < 32 or ord(c) == 127 for c in str(raw)):
            raise InvalidInput(f"{str(raw)[:80]!r}: a path must not contain control characters")
        path = Path(raw).resolve()
        for root in [self.upload_dir, *self.ingest_roots]:
            if path == root or root in path.parents:
                return path
        allowed = ", ".join(str(r) for r in [self.upload_dir, *self.ingest_roots])
        raise PathRefused(f"{raw} is outside the folders an admin may ingest ({allowed})")

    def ingest(self, paths: list[str | Path], progress: Progress | None = None,
               sources: list[WebSourceSettings] = (), by: str = "", trigger: str = "admin",
               lock_timeout: float = 600) -> SyncReport:
        """Sync allowed folders and web sources; the run is recorded (who, what, outcome).
        Web sources other than those of ``ingest.sources`` must pass ``allowed_url``."""
        checked = [self.allowed_path(p) for p in paths]
        configured = {s.url for s in self.engine.settings.ingest.sources}
        for source in sources:
            if source.url not in configured:
                self.allowed_url(source.url)
        targets = [str(p) for p in checked] + [s.url for s in sources]
        started, wall = time.monotonic(), time.time()
        try:
            report = self.engine.syncer.sync(checked, progress=progress, sources=sources,
                                             lock_timeout=lock_timeout)
        except Exception as exc:
            self.metrics.ingests.labels("error").inc()
            if self.state is not None:
                self.state.add_ingest_run(trigger, by, targets, wall, {"error": str(exc)[:500]})
            raise
        finally:
            self.metrics.ingest_seconds.observe(time.monotonic() - started)
        self.metrics.ingests.labels("failed_files" if report.failed else "ok").inc()
        if self.state is not None:
            self.state.add_ingest_run(trigger, by, targets, wall, report.to_dict())
            if trigger == "admin" and by:
                self.state.audit(by, "ingest", ", ".join(targets)[:500],
                                 report.summary().splitlines()[0])
        return report

    def folders(self) -> list[Path]:
        """The uploads and ``server.ingest_roots``, those that exist."""
        return [p for p in [self.upload_dir, *self.ingest_roots] if p.exists()]

    def ingest_all(self, by: str = "", trigger: str = "admin", lock_timeout: float = 600) -> SyncReport:
        """Everything configured: the ingest roots, the uploads and ``ingest.sources``."""
        return self.ingest(self.folders(), sources=list(self.engine.settings.ingest.sources),
                           by=by, trigger=trigger, lock_timeout=lock_timeout)

    def allowed_url(self, url: str) -> str:
        """``url`` if the server may fetch it for an admin: http(s), on a host of
        ``ingest.web_hosts`` when that is set, and resolving to public addresses only (the
        server's own network is no admin's to read). This is the early answer for the
        admin; the crawler checks every connection again (``ingest.address_guard``)."""
        import httpcore  # the crawler's libraries load when a URL is asked for

        from ingest.address_guard import REFUSED, AddressRefused, GuardedNetwork

        try:
            WebSourceSettings(url=url)
        except ValueError:
            raise WebAddressInvalid(f"{url[:120]!r} is not an http(s) URL", "not_http") from None
        settings = self.engine.settings.ingest
        hosts = settings.web_hosts
        host = urlsplit(url).hostname or ""
        if hosts and host not in hosts:
            raise WebAddressRefused(f"{url[:120]}: host {host!r} is not in ingest.web_hosts "
                                    f"({', '.join(hosts)})", "host_not_listed", host, hosts)
        network = GuardedNetwork(settings.web_allow_loopback)
        try:
            network.checked(host, urlsplit(url).port or 0)
        except AddressRefused:
            raise WebAddressRefused(f"{url[:120]}: {REFUSED}", "not_public", host) from None
        except httpcore.ConnectError:
            raise WebAddressInvalid(f"{url[:120]}: host {host!r} not found", "host_unknown",
                                    host) from None
        return url

    def runs(self, limit: int = 50) -> list[IngestRun]:
        return self.state.ingest_runs(limit) if self.state is not None else []

    def generations(self) -> list[dict]:
        """The published generations, newest first, the live one marked."""
        return list(reversed(self.engine.store.history()))

    def rollback(self, to: str | None, by: str) -> dict:
        """Make an earlier generation live again (``lotse rollback``), logged with who did it."""
        before = self.engine.store.current(force=True)
        try:
            gen = self.engine.store.rollback(to)
        except StoreError as exc:
            raise InvalidInput(str(exc)) from exc
        if self.state is not None:
            self.state.audit(by, "rollback", gen.id, f"was {before.id if before else 'none'}")
        return {"generation": gen.id, "was": before.id if before else None,
                "published_at": gen.info.get("published_at")}

    def uploads(self) -> list[str]:
        return sorted(p.relative_to(self.upload_dir).as_posix()
                      for p in self.upload_dir.rglob("*") if p.is_file() and not p.name.startswith("."))

    def stats(self) -> StoreStats:
        gen = self.engine.store.current(force=True)
        if gen is None:
            return StoreStats(None, 0, 0, None, self.engine.embedder.name)
        return StoreStats(gen.id, int(gen.info.get("documents", 0)), int(gen.info.get("chunks", 0)),
                          gen.info.get("published_at"), str(gen.info.get("embedder", "")))

