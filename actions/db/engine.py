"""Engine and session factory: the one place that decides which database is used.

``DATABASE_URL`` selects the database (e.g. ``postgresql+psycopg2://user:pw@host/db``);
without it the assistant uses an embedded SQLite file so a fresh checkout works
with no services running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from settings import action_server as settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE_PATH = REPO_ROOT / "var" / "assistant.db"


def database_url() -> str:
    """The configured database URL; creates ``var/`` for the default SQLite file."""
    url = settings.DATABASE_URL.read()
    if url:
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def safe_url(url: str) -> str:
    """URL with the password masked, for log and error messages."""
    return make_url(url).render_as_string(hide_password=True)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores FOREIGN KEY clauses unless asked per connection."""
    dbapi_connection.execute("PRAGMA foreign_keys = ON")


def make_engine(url: str | None = None) -> Engine:
    """A new engine for ``url`` (default: :func:`database_url`); caller disposes."""
    engine = create_engine(url or database_url(), future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine, so the action server shares one connection pool."""
    return make_engine()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises.

    ``expire_on_commit=False`` keeps returned objects readable after the block,
    which is what action code needs when it formats a reply.
    """
    with (
        Session(engine or get_engine(), future=True, expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session
