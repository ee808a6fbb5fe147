"""Signed outgoing webhooks: a helpdesk (or anything else) hears what happens to tickets.

Events: ``ticket.opened`` (with the conversation so far), ``customer.message`` (what a
customer writes while a ticket is open), ``agent.reply`` and ``ticket.closed``. Each is
a JSON body POSTed to every URL in ``webhooks.urls`` with these headers:

    X-Lotse-Event: ticket.opened
    X-Lotse-Delivery: 42                       (the same on every retry of one delivery)
    X-Lotse-Signature: t=1764115200,v1=<hex>   (HMAC-SHA256 of "t.body" with webhooks.secret)

A receiver checks the signature and that ``t`` is recent (:func:`verify`, five minutes by
default), which stops a recorded request from being replayed later. Texts are redacted
as in the chat (e-mail addresses, phone numbers, IBANs, addresses).

Deliveries go through an outbox in the state database, so none is lost to a restart and
any Lotse process may send it: a 2xx answer delivers it; anything else (or no answer) is
retried after ``backoff_seconds``, doubling each time, up to ``attempts`` tries; then it
is dead, listed for the admin (``GET /v1/admin/webhooks?status=dead``) and can be
replayed (``POST /v1/admin/webhooks/{id}/replay``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

from bot.chat.background import Repeating
from bot.chat.pii import redact
from bot.chat.state import Delivery, StateStore, Ticket
from kb.channel_settings import WebhookSettings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Lotse-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Lotse-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, tolerance: float = TOLERANCE_SECONDS,
           now: float | None = None) -> bool:
    """For receivers: is ``header`` a valid signature of ``body`` made within ``tolerance``
    seconds? Compared in constant time."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).encode()
    return hmac.compare_digest(expected, f"t={timestamp},v1={parts.get('v1', '')}".encode())


def ticket_fields(ticket: Ticket) -> dict[str, Any]:
    return {"number": ticket.number, "status": ticket.status, "reason": ticket.reason,
            "question": ticket.question, "assignee": ticket.assignee or None,
            "created_at": ticket.created_at}


class WebhookOutbox:
    """Listens to the chat service's ticket events and queues one delivery per receiver."""

    def __init__(self, state: StateStore, settings: WebhookSettings) -> None:
        self.state = state
        self.settings = settings

    def __call__(self, event: str, ticket: Ticket, **data: Any) -> None:
        if event not in self.settings.events:
            return
        payload = {"event": event, "sent_by": "lotse", "at": time.time(),
                   "session_id": ticket.session_id, "ticket": ticket_fields(ticket)}
        if event == "ticket.opened":
            payload["conversation"] = [{"role": m.role, "text": m.text, "time": m.created_at}
                                       for m in self.state.transcript(ticket.session_id)]
        if "text" in data:
            payload["text"] = redact(data["text"])
        if "agent" in data:
            payload["agent"] = data["agent"]
        if "resolved" in data:
            payload["resolved"] = data["resolved"]
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        for url in self.settings.urls:
            self.state.queue_delivery(event, url, body)


class WebhookSender(Repeating):
    """Works through the outbox in a background thread (``start``/``stop``); ``run_once``
    sends whatever is due now and is what the thread repeats."""

    def __init__(self, state: StateStore, settings: WebhookSettings, poll_seconds: float = 1.0) -> None:
        super().__init__("lotse-webhooks", settings.timeout_seconds + 5)
        self.state = state
        self.settings = settings
        self.poll_seconds = poll_seconds
        self._client = httpx.Client(timeout=settings.timeout_seconds, follow_redirects=False,
                                    headers={"User-Agent": "Lotse-Webhooks/1"})

    def stop(self) -> None:
        super().stop()
        self._client.close()

    def _round(self) -> None:
        self.run_once()

    def _pause(self) -> float:
        return self.poll_seconds

    def run_once(self, most: int = 100) -> int:
        """Sends due deliveries (up to ``most``), claiming each just before it is sent, so
        its lease covers one request; returns how many were tried."""
        lease = self.settings.timeout_seconds + 30
        tried = 0
        while tried < most and (due := self.state.claim_deliveries(lease, limit=1)):
            self._send(due[0])
            tried += 1
        return tried

    def _send(self, delivery: Delivery) -> None:
        body = delivery.body.encode()
        attempt = delivery.attempts + 1
        headers = {"Content-Type": "application/json", "X-Lotse-Event": delivery.event,
                   "X-Lotse-Delivery": str(delivery.id),
                   SIGNATURE_HEADER: sign(self.settings.secret.get_secret_value(), body,
                                          int(time.time()))}
        try:
            response = self._client.post(delivery.url, content=body, headers=headers)
            error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        except Exception as exc:  # unreachable, timed out, or a URL httpx cannot use
            error = f"{type(exc).__name__}: {exc}"[:300]
        if not error:
            self.state.delivery_done(delivery, attempt)
            return
        retry_at = None
        if attempt < self.settings.attempts:
            retry_at = time.time() + self.settings.backoff_seconds * 2 ** (attempt - 1)
        else:
            log.warning("webhook %s to %s is dead after %d attempts: %s", delivery.id,
                        delivery.url, attempt, error)
        self.state.delivery_failed(delivery, attempt, error, retry_at)
