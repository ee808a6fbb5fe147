"""Chatwoot's webhook signature, checked on the events its agent bot sends.

Chatwoot (account webhooks since 4.11.2, agent bots and API inboxes since 4.13) sends

    X-Chatwoot-Timestamp: <unix seconds>
    X-Chatwoot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>

The timestamp is inside what is signed, so a recorded event cannot be sent again later
with a fresh one: an event further than ``max_age`` from now is refused like a forged one.

    >>> header = sign("secret", "1767225600", b'{"event": "message_created"}')
    >>> verify("secret", "1767225600", b'{"event": "message_created"}', header,
    ...        max_age=300, now=1767225700)
    True
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Chatwoot-Signature"
TIMESTAMP_HEADER = "X-Chatwoot-Timestamp"
_PREFIX = "sha256="


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Chatwoot-Signature`` value Chatwoot sends for ``body`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return _PREFIX + digest.hexdigest()


def verify(secret: str, timestamp: str | None, body: bytes, signature: str | None,
           max_age: float, now: float | None = None) -> bool:
    """True when ``signature`` is ``secret``'s for ``timestamp`` and ``body`` and the
    timestamp is within ``max_age`` seconds of ``now`` (either way: clocks differ)."""
    if not (secret and timestamp and signature) or not timestamp.isascii() \
            or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > max_age:
        return False
    given = signature.strip()
    given = given if given.startswith(_PREFIX) else _PREFIX + given  # bare hex is accepted too
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), given.encode("utf-8"))
