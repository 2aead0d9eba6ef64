"""The SQL tracker store on a real PostgreSQL: one round trip per read and write.

Each read is one SELECT and each write one INSERT, outside any transaction
block (psycopg2 would add a BEGIN and a COMMIT or ROLLBACK round trip), and no
ping precedes them; a connection the server dropped is replaced by the retry.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
import sqlalchemy as sa
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet

from stores.tracker_store import ResilientSQLTrackerStore
from tests.pg_server import PostgresServer, postgres_server  # noqa: F401  (fixture)
from tests.stores.test_tracker_store import conversation

_database_names = itertools.count()


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[tuple[str, str]]:  # noqa: F811
    name = f"trackers_{next(_database_names)}"
    yield name, postgres_server.create_database(name)
    postgres_server.drop_database(name)


@pytest.fixture
def store(
    database: tuple[str, str], domain: Domain
) -> Iterator[ResilientSQLTrackerStore]:
    store = ResilientSQLTrackerStore(
        domain, host=database[1], retry_seconds=5, retry_interval_seconds=0.1
    )
    yield store
    store.engine.dispose()


class StatementLog:
    """Each statement the store sends, and whether a transaction block was open."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.statements: list[tuple[str, bool]] = []
        sa.event.listen(engine, "after_cursor_execute", self._record)

    def _record(self, connection: sa.engine.Connection, *args: Any) -> None:
        statement = args[1].split()[0].upper()
        status = connection.connection.dbapi_connection.info.transaction_status
        self.statements.append((statement, status != TRANSACTION_STATUS_IDLE))

    def take(self) -> list[tuple[str, bool]]:
        taken, self.statements = self.statements, []
        return taken


async def test_reads_and_writes_are_single_statements_outside_transactions(
    store: ResilientSQLTrackerStore, domain: Domain
) -> None:
    log = StatementLog(store.engine)
    await store.save(conversation(domain))
    # A tracker from elsewhere is counted first, as Rasa does.
    assert log.take() == [("SELECT", False), ("INSERT", False)]

    tracker = await store.retrieve("alice-1")
    assert tracker is not None and tracker.get_slot("order_id") == "ORD-1001"
    assert log.take() == [("SELECT", False)]

    tracker.update(ActionExecuted("order_form"))
    await store.save(tracker)
    assert log.take() == [("INSERT", False)]
    full = await store.retrieve_full_tracker("alice-1")
    assert full is not None and len(full.events) == 4


async def test_a_connection_the_server_dropped_is_replaced(
    store: ResilientSQLTrackerStore,
    database: tuple[str, str],
    postgres_server: PostgresServer,  # noqa: F811
    domain: Domain,
) -> None:
    tracker = conversation(domain)
    await store.save(tracker)
    # What a server restart does to the pooled connection.
    admin = psycopg2.connect(postgres_server.url(database[0]).replace("+psycopg2", ""))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone() == (1,)
    admin.close()

    read = await store.retrieve("alice-1")
    assert read is not None and read.get_slot("order_id") == "ORD-1001"
    read.update(SlotSet("order_id", "ORD-1002"))
    await store.save(read)
    again = await store.retrieve("alice-1")
    assert again is not None and again.get_slot("order_id") == "ORD-1002"
