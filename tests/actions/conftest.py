"""Fixtures for driving actions as the action server would, on a real SQLite file.

A migrated and seeded database is built once per session; each test gets a copy
at ``$DATABASE_URL``, so actions open their own sessions exactly as in production.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from sqlalchemy.engine import Engine

from actions.db.engine import REPO_ROOT, get_engine, make_engine, session_scope
from actions.db.migrate import upgrade_head
from actions.db.seed import seed
from actions.kb.knowledge import embed_if_missing


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The domain as the action server receives it."""
    return Domain.load(str(REPO_ROOT / "domain.yml")).as_dict()


@pytest.fixture(scope="session")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "seeded.db"
    url = f"sqlite:///{path}"
    upgrade_head(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            seed(session)
        with session_scope(engine) as session:
            embed_if_missing(session)  # once here, not in every test's copy
    finally:
        engine.dispose()
    return path


@pytest.fixture
def db_url(
    seeded_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A private copy of the seeded database, configured as the actions' database."""
    path = tmp_path / "assistant.db"
    shutil.copyfile(seeded_file, path)
    url = f"sqlite:///{path}"
    yield from _use_database(url, monkeypatch)


@pytest.fixture
def unreachable_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL URL on a local port where nothing listens."""
    yield from _use_database(
        "postgresql+psycopg2://app@127.0.0.1:9/assistant", monkeypatch
    )


def _use_database(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", url)
    get_engine.cache_clear()
    yield url
    get_engine().dispose()
    get_engine.cache_clear()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A separate engine for the test's own look at the database."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
