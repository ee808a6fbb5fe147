"""Prometheus metrics of one Lotse process, served at ``GET /v1/metrics`` (admin token).

Each process keeps its own registry and is scraped on its own (behind a proxy, scrape
every instance); sums over instances are Prometheus' job. The instruments:

- ``lotse_http_requests_total`` and ``lotse_http_request_seconds``: by route template
  (``/v1/chat``, not each session's URL), method and status;
- ``lotse_answer_seconds``: from message to finished answer, by answer kind;
- ``lotse_handoffs_total``: by reason;
- ``lotse_rate_limited_total``: messages refused by the rate limits;
- ``lotse_ingest_runs_total`` (by outcome) and ``lotse_ingest_seconds``: ingests started
  from the admin page or API;
- ``lotse_generation_age_seconds``: how old the live generation is, read when scraped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The instruments, in a registry of their own (so tests can build many apps)."""

    def __init__(self, published_at: Callable[[], float | None] = lambda: None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("lotse_http_requests", "HTTP requests by route, method and "
                                "status.", ["route", "method", "status"], registry=r)
        self.request_seconds = Histogram("lotse_http_request_seconds", "HTTP request duration "
                                         "by route.", ["route"], buckets=_SECONDS, registry=r)
        self.answer_seconds = Histogram("lotse_answer_seconds", "Time from a message to its "
                                        "finished answer, by answer kind.", ["kind"],
                                        buckets=_SECONDS, registry=r)
        self.handoffs = Counter("lotse_handoffs", "Handoffs to a person by reason.", ["reason"],
                                registry=r)
        self.rate_limited = Counter("lotse_rate_limited", "Messages refused by a rate limit.",
                                    registry=r)
        self.ingests = Counter("lotse_ingest_runs", "Ingest runs by outcome.", ["outcome"],
                               registry=r)
        self.ingest_seconds = Histogram("lotse_ingest_seconds", "Duration of ingest runs.",
                                        buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
                                        registry=r)
        age = Gauge("lotse_generation_age_seconds", "Seconds since the live generation was "
                    "published (-1 before the first).", registry=r)
        age.set_function(lambda: time.time() - stamp if (stamp := published_at()) else -1.0)

    def event(self, event: str, value: float | None, data: dict) -> None:
        """An event the chat service records for the KPIs, counted here as well."""
        if event != "answer":
            return
        if value is not None:
            self.answer_seconds.labels(str(data.get("kind") or "answer")).observe(value / 1000)
        if data.get("handoff"):
            self.handoffs.labels(str(data.get("reason") or "unknown")).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
