"""Domain errors of Lotse, in one place so callers can catch them by meaning.

Besides the errors of the knowledge base itself, a few *kinds* of refusal are
defined here; the errors of the upper layers derive from them, so an interface
(the REST API, the CLI) maps a kind to its answer (HTTP status, exit code)
without reading the message.
"""


class LotseError(Exception):
    """Base of every error Lotse raises on purpose."""


class LoaderError(LotseError):
    """A file could not be turned into documents. The message names the reason."""


class EmbeddingError(LotseError):
    """The embedding model could not embed a batch; nothing of that ingest is published."""


class StoreError(LotseError):
    """The chunk store is unreachable or not in the expected state."""


class EmptyStoreError(StoreError):
    """Nothing has been published yet: run `lotse ingest` first."""


class ConfigError(LotseError):
    """A setting is missing or names something that cannot be loaded."""


# -- kinds of refusal ---------------------------------------------------------------------
class InvalidInput(LotseError):
    """The request itself is wrong: empty, malformed, or not allowed in this state."""


class NotFound(LotseError):
    """The thing asked for does not exist (a session, a ticket)."""


class Forbidden(LotseError):
    """The caller may not do this (a path outside the allowed folders)."""


class TooLarge(LotseError):
    """The input is over a size limit."""


class UnsupportedType(LotseError):
    """The input is of a type Lotse does not take (an upload's file type)."""


class Throttled(LotseError):
    """Too many requests; ``retry_after`` says when to try again, in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
