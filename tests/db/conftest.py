"""Database fixtures: every database test runs on SQLite and on a real PostgreSQL.

A migrated and seeded template database is built once per backend; each test
gets its own clone (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE``
for PostgreSQL), so tests may commit freely and never see each other's writes.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions.db import security
from actions.db.engine import make_engine, session_scope
from actions.db.migrate import upgrade_head
from actions.db.models import Customer
from actions.db.seed import seed
from tests.pg_server import postgres_server  # noqa: F401  (pytest fixture)

TEMPLATE = "seeded_template"
_database_names = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def fast_passcode_hashing() -> Iterator[None]:
    """Cut PBKDF2 to 1,000 rounds: full strength costs 0.2 s per hash and tests
    need correctness, not cost. Hashes record their round count, so verification
    still runs the production code path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "ITERATIONS", 1_000)
        yield


class Backend(Protocol):
    def create_database(self, name: str, template: str | None = None) -> str: ...

    def drop_database(self, name: str) -> None: ...


class SqliteBackend:
    """SQLite databases as files in one directory; a template is cloned by copying."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def create_database(self, name: str, template: str | None = None) -> str:
        path = self.directory / f"{name}.db"
        if template is not None:
            shutil.copyfile(self.directory / f"{template}.db", path)
        return f"sqlite:///{path}"

    def drop_database(self, name: str) -> None:
        (self.directory / f"{name}.db").unlink(missing_ok=True)


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path_factory.mktemp("sqlite"))
    return request.getfixturevalue("postgres_server")


@pytest.fixture(scope="session")
def seeded_template(backend: Backend) -> str:
    """Name of a database migrated to head and seeded once per backend."""
    url = backend.create_database(TEMPLATE)
    upgrade_head(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            seed(session)
    finally:
        engine.dispose()  # PostgreSQL cannot clone a template that has connections
    return TEMPLATE


def _scratch_database(backend: Backend, template: str | None) -> Iterator[str]:
    name = f"test_{next(_database_names)}"
    yield backend.create_database(name, template=template)
    backend.drop_database(name)


@pytest.fixture
def db_url(backend: Backend, seeded_template: str) -> Iterator[str]:
    """URL of a private, seeded database for one test."""
    yield from _scratch_database(backend, seeded_template)


@pytest.fixture
def empty_db_url(backend: Backend) -> Iterator[str]:
    """URL of a private database with no tables at all."""
    yield from _scratch_database(backend, None)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, future=True, expire_on_commit=False) as session:
        yield session


def customer_id(session: Session, email: str) -> int:
    return session.scalars(select(Customer.id).where(Customer.email == email)).one()


@pytest.fixture
def alice_id(session: Session) -> int:
    return customer_id(session, "alice@example.com")


@pytest.fixture
def bob_id(session: Session) -> int:
    return customer_id(session, "bob@example.com")
