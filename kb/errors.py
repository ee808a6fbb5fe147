"""Domain errors of Lotse, in one place so callers can catch them by meaning."""


class LotseError(Exception):
    """Base of every error Lotse raises on purpose."""


class LoaderError(LotseError):
    """A file could not be turned into documents. The message names the reason."""


class StoreError(LotseError):
    """The chunk store is unreachable or not in the expected state."""


class EmptyStoreError(StoreError):
    """Nothing has been published yet: run `lotse ingest` first."""


class ConfigError(LotseError):
    """A setting is missing or names something that cannot be loaded."""
