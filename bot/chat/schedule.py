"""Re-ingest on a schedule inside ``lotse serve``.

    >>> scheduler = IngestScheduler(admin, state, settings.ingest)
    >>> scheduler.plan()        # each target with its last run and when the next is due
    >>> scheduler.run_due()     # what `lotse serve` does every half minute

Two kinds of targets: "folders" (``server.ingest_roots`` and the uploads, every
``ingest.schedule_minutes``) and each web source of ``ingest.sources`` (its own
``every_minutes``, or the same). A target is due when its last run (of any trigger:
schedule, admin, CLI runs do not count) started longer ago than its interval. Several
Lotse processes share the schedule through the state database: one takes a lease for
the round, and the store's writer lock keeps any other ingest out meanwhile; a round
that fails (the store being written to, say) is tried again after five minutes.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bot.chat.admin import AdminService
from bot.chat.background import Repeating
from bot.chat.state import StateStore
from kb.errors import StoreError
from kb.settings import IngestSettings, WebSourceSettings

log = logging.getLogger(__name__)

FOLDERS = "folders"
LEASE = "ingest-schedule"
RETRY_MINUTES = 5


@dataclass(frozen=True)
class Planned:
    """One scheduled target: its interval, last run (id, time, summary) and next run."""

    target: str
    every_minutes: float
    last_run: dict[str, Any] | None
    next_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "every_minutes": self.every_minutes,
                "last_run": self.last_run, "next_at": self.next_at}


class IngestScheduler(Repeating):
    """Runs due re-ingests in a background thread (``start``/``stop``)."""

    def __init__(self, admin: AdminService, state: StateStore, settings: IngestSettings,
                 look_seconds: float = 30.0) -> None:
        super().__init__("lotse-schedule", 5, wait_first=True)
        self.admin = admin
        self.state = state
        self.settings = settings
        self.look_seconds = look_seconds
        self._holder = uuid.uuid4().hex

    def _targets(self) -> list[tuple[str, float, WebSourceSettings | None]]:
        every = self.settings.schedule_minutes
        out: list[tuple[str, float, WebSourceSettings | None]] = []
        if every > 0:
            out.append((FOLDERS, every, None))
        for source in self.settings.sources:
            minutes = source.every_minutes or every
            if minutes > 0:
                out.append((source.url, minutes, source))
        return out

    def plan(self) -> list[Planned]:
        planned = []
        for target, minutes, _source in self._targets():
            runs = self.state.ingest_runs(limit=1, target=self._run_target(target))
            last = runs[0] if runs else None
            summary = None
            if last is not None:
                report = last.report
                summary = {"id": last.id, "started_at": last.started_at,
                           "finished_at": last.finished_at, "trigger": last.trigger,
                           "error": report.get("error"),
                           **{k: report.get(k) for k in ("added", "updated", "removed",
                                                          "unchanged", "failed", "published")}}
            if last is None:
                next_at = time.time()
            elif last.report.get("error"):  # the store was busy, a host down: sooner again
                next_at = last.finished_at + 60 * min(minutes, RETRY_MINUTES)
            else:
                next_at = last.started_at + 60 * minutes
            planned.append(Planned(target, minutes, summary, next_at))
        return planned

    def _run_target(self, target: str) -> str:
        """How a target appears in the runs' target lists."""
        if target != FOLDERS:
            return target
        return str(self.admin.upload_dir)  # every folder run covers the uploads

    def run_due(self) -> list[str]:
        """Run every target that is due; returns the ones run. Nothing while another
        process holds the round."""
        if not any(p.next_at <= time.time() for p in self.plan()) or \
                not self.state.take_lease(LEASE, self._holder, 3600):
            return []
        done = []
        try:  # planned again under the lease: another process may have just run them
            due = [p for p in self.plan() if p.next_at <= time.time()]
            sources = {t: s for t, _m, s in self._targets()}
            for planned in due:
                if self._stop.is_set():
                    break
                try:
                    if planned.target == FOLDERS:
                        self.admin.ingest(self.admin.folders(), by="schedule",
                                          trigger="schedule", lock_timeout=0)
                    else:
                        self.admin.ingest([], sources=[sources[planned.target]], by="schedule",
                                          trigger="schedule", lock_timeout=0)
                    done.append(planned.target)
                except StoreError as exc:  # someone else is writing: recorded, retried soon
                    log.info("scheduled ingest of %s postponed: %s", planned.target, exc)
                except Exception:
                    log.exception("scheduled ingest of %s failed", planned.target)
        finally:
            self.state.drop_lease(LEASE, self._holder)
        return done

    def _wanted(self) -> bool:
        return bool(self._targets())

    def _round(self) -> None:
        self.run_due()

    def _pause(self) -> float:
        return self.look_seconds
