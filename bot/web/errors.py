"""The HTTP status of Lotse's domain errors, shared by every route module."""

from __future__ import annotations

from kb.errors import (
    Forbidden,
    InvalidInput,
    LotseError,
    NotFound,
    Throttled,
    TooLarge,
    UnsupportedType,
)

# Most specific first: an error may be of several kinds (a missing ticket is NotFound
# and InvalidInput); anything else Lotse raises on purpose is a 400.
_STATUS: list[tuple[type[LotseError], int]] = [
    (Throttled, 429), (NotFound, 404), (Forbidden, 403), (TooLarge, 413),
    (UnsupportedType, 415), (InvalidInput, 400),
]


def status_of(exc: LotseError) -> int:
    """The HTTP status of a domain error, chosen by its kind, never by its message."""
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
