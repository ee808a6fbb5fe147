"""Schema migrations of the state database (Alembic), run when a ``StateStore`` opens it.

Every Lotse process upgrades the database to the newest revision before it uses it, so
an upgrade of Lotse keeps conversations, tickets and logins. A database made before
migrations existed (by ``create_all``) is recognised by its tables and stamped with the
first revision, then upgraded like any other. Processes starting at once take turns:
an advisory lock on PostgreSQL, a file lock beside a SQLite file.

A new revision goes into ``versions/`` (``alembic revision -m …`` with this folder as
``script_location``, or by hand); ``tests/bot/chat/test_state.py`` fails when the models
and the migrations disagree.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text

HERE = Path(__file__).resolve().parent
FIRST = "0001"
_LOCK_KEY = 741_205  # the advisory lock of "migrating Lotse's state"


def config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (the newest by default)."""
    with _migrating(engine), engine.begin() as connection:
        cfg = config(connection)
        tables = inspect(connection)
        if current(connection) is None and tables.has_table("sessions"):
            # Made by create_all before there were migrations: stamped with the revision
            # its tables match, then upgraded like any other.
            command.stamp(cfg, "0002" if tables.has_table("rate_hits") else FIRST)
        command.upgrade(cfg, revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        from filelock import FileLock

        with FileLock(f"{database}.migrate.lock", timeout=120):
            yield
        return
    yield
