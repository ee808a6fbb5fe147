"""The chromadb clients Lotse opens: one per generation folder, or one for a server.

Both with chromadb's telemetry off and its reset refused, whichever backend asks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def chroma_settings() -> Any:
    """chromadb's client settings: no telemetry, no ``reset()``."""
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def persistent_client(path: Path) -> Any:
    """A client of the chromadb folder ``path`` (one per generation, never shared by two
    writers)."""
    import chromadb

    return chromadb.PersistentClient(path=str(path), settings=chroma_settings())


def http_client(host: str, port: int) -> Any:
    """A client of a `chroma run` server."""
    import chromadb

    return chromadb.HttpClient(host=host, port=port, settings=chroma_settings())
