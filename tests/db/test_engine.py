"""Engine configuration, transaction scope and column types on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError

from actions.db import engine as db_engine
from actions.db.engine import database_url, safe_url, session_scope
from actions.db.models import Account, AuditLog, Customer


def test_database_url_defaults_to_embedded_sqlite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == f"sqlite:///{db_engine.DEFAULT_SQLITE_PATH}"
    assert db_engine.DEFAULT_SQLITE_PATH.parent.is_dir()


def test_database_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg2://bot:s3cret@db.internal:5432/assistant"
    monkeypatch.setenv("DATABASE_URL", url)
    assert database_url() == url
    assert "s3cret" not in safe_url(url)


def test_session_scope_commits(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(
            AuditLog(conversation_id="c", actor="test", action="ping", target="t")
        )
    with session_scope(engine) as session:
        mine = select(AuditLog.actor).where(AuditLog.conversation_id == "c")
        assert session.scalars(mine).all() == ["test"]


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(ValueError), session_scope(engine) as session:
        session.add(
            AuditLog(conversation_id="c", actor="test", action="ping", target="t")
        )
        session.flush()
        raise ValueError("boom")
    with session_scope(engine) as session:
        mine = select(AuditLog).where(AuditLog.conversation_id == "c")
        assert session.scalars(mine).all() == []


def test_datetimes_round_trip_as_aware_utc(engine: Engine) -> None:
    local = datetime(2024, 6, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(engine) as session:
        session.add(
            AuditLog(at=local, conversation_id="c", actor="a", action="x", target="t")
        )
    with session_scope(engine) as session:
        mine = select(AuditLog.at).where(AuditLog.conversation_id == "c")
        stored = session.scalars(mine).one()
    assert stored == local
    assert stored.tzinfo is timezone.utc
    assert stored.hour == 12


def test_naive_datetimes_are_rejected(engine: Engine) -> None:
    with (
        pytest.raises(StatementError, match="naive datetime"),
        session_scope(engine) as session,
    ):
        session.add(
            AuditLog(
                at=datetime(2024, 6, 1),
                conversation_id="c",
                actor="a",
                action="x",
                target="t",
            )
        )


def test_money_is_exact_decimal(engine: Engine) -> None:
    with session_scope(engine) as session:
        account = session.scalars(
            select(Account).where(Account.number == "ACC-1001")
        ).one()
        account.balance += Decimal("0.10")
    with session_scope(engine) as session:
        balance = session.scalars(
            select(Account.balance).where(Account.number == "ACC-1001")
        ).one()
    assert balance == Decimal("2450.85")
    assert str(balance) == "2450.85"


def test_emails_are_stored_lower_case(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(
            Customer(name="Carol", email="  Carol@Example.ORG ", passcode_hash="x")
        )
    with session_scope(engine) as session:
        emails = session.scalars(
            select(Customer.email).where(Customer.name == "Carol")
        ).all()
    assert emails == ["carol@example.org"]
