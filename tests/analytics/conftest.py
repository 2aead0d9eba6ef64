"""Analytics fixtures: a tracker store and an assistant database, both empty,
on SQLite and on a real PostgreSQL (the backends of tests/db/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from actions.db.engine import make_engine
from actions.db.migrate import upgrade_head
from tests.db.conftest import (
    Backend,
    _scratch_database,
    backend,  # noqa: F401  (pytest fixture)
)
from tests.pg_server import postgres_server  # noqa: F401  (pytest fixture)


def _databases(server: Backend) -> Iterator[tuple[Engine, Engine]]:
    tracker_urls = _scratch_database(server, None)
    business_urls = _scratch_database(server, None)
    tracker_url, business_url = next(tracker_urls), next(business_urls)
    upgrade_head(business_url)
    tracker, business = make_engine(tracker_url), make_engine(business_url)
    yield tracker, business
    tracker.dispose()
    business.dispose()
    for urls in (tracker_urls, business_urls):
        next(urls, None)


@pytest.fixture
def databases(backend: Backend) -> Iterator[tuple[Engine, Engine]]:  # noqa: F811
    """(tracker store, assistant database): the second migrated, both empty."""
    yield from _databases(backend)


@pytest.fixture(scope="module")
def module_databases(backend: Backend) -> Iterator[tuple[Engine, Engine]]:  # noqa: F811
    """The same, shared by a module's tests (for data written once)."""
    yield from _databases(backend)
