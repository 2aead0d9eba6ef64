"""Alembic migrations: upgrade from empty, agreement with the models, downgrade."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, inspect
from sqlalchemy.engine import Engine

from actions.db.engine import make_engine
from actions.db.migrate import alembic_config, upgrade_head
from actions.db.models import Base

TABLES = {table.name for table in Base.metadata.sorted_tables}


@pytest.fixture
def migrated_engine(empty_db_url: str) -> Iterator[Engine]:
    upgrade_head(empty_db_url)
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


def test_upgrade_from_empty_reaches_head(migrated_engine: Engine) -> None:
    expected = {
        "customers", "accounts", "transactions", "orders", "order_items",
        "returns", "refunds", "support_tickets", "audit_log",
        "ticket_deliveries", "csat_ratings", "kb_articles", "kb_answers",
        "sentiment_alerts", "review_items", "review_decisions", "review_scans",
    }  # fmt: skip
    assert expected == TABLES
    assert set(inspect(migrated_engine).get_table_names()) == TABLES | {
        "alembic_version"
    }
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with migrated_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head


def test_migrations_match_models(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    inspector = inspect(migrated_engine)
    for table in Base.metadata.sorted_tables:
        expected = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
        assert {
            c["name"] for c in inspector.get_check_constraints(table.name)
        } == expected


def test_upgrade_is_repeatable_and_downgrade_removes_everything(
    migrated_engine: Engine, empty_db_url: str
) -> None:
    upgrade_head(empty_db_url)  # already at head: a no-op
    command.downgrade(alembic_config(empty_db_url), "base")
    assert set(inspect(migrated_engine).get_table_names()) == {"alembic_version"}
    upgrade_head(empty_db_url)
    assert set(inspect(migrated_engine).get_table_names()) >= TABLES


def test_offline_sql_for_review(capsys: pytest.CaptureFixture[str]) -> None:
    """``alembic upgrade head --sql`` produces a script without touching a server."""
    config = alembic_config(
        "postgresql+psycopg2://nobody@unreachable.invalid/assistant"
    )
    command.upgrade(config, "head", sql=True)
    script = capsys.readouterr().out
    assert "CREATE TABLE orders" in script
    assert "CONSTRAINT ck_orders_order_status CHECK" in script
