"""Seed data: the scripted demo facts, determinism and idempotency."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from actions.db.engine import make_engine, session_scope
from actions.db.migrate import upgrade_head
from actions.db.models import Account, Base, Customer, Order, OrderStatus
from actions.db.seed import SYNTHETIC_CUSTOMERS, seed


def _row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def _order(session: Session, number: str) -> Order:
    return session.scalars(select(Order).where(Order.number == number)).one()


def _fingerprint(session: Session) -> list[tuple]:
    """Everything the random generator decides, independent of row ids and dates."""
    customers = session.scalars(
        select(Customer)
        .order_by(Customer.email)
        .options(
            selectinload(Customer.accounts).selectinload(Account.transactions),
            selectinload(Customer.orders).selectinload(Order.items),
        )
    ).all()
    return [
        (
            customer.email,
            customer.name,
            [(a.number, a.balance, len(a.transactions)) for a in customer.accounts],
            sorted(
                (o.number, o.status, o.carrier, [(i.sku, i.quantity) for i in o.items])
                for o in customer.orders
            ),
        )
        for customer in customers
    ]


@pytest.fixture
def fresh_engine(empty_db_url: str) -> Iterator[Engine]:
    upgrade_head(empty_db_url)
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


def test_alice_demo_data(session: Session) -> None:
    alice = session.scalars(
        select(Customer).where(Customer.email == "alice@example.com")
    ).one()
    assert alice.name == "Alice Chen"
    [account] = alice.accounts
    assert (account.number, account.balance, account.currency) == (
        "ACC-1001",
        Decimal("2450.75"),
        "USD",
    )
    shipped, processing, delivered = (
        _order(session, n) for n in ("ORD-1001", "ORD-1002", "ORD-1003")
    )
    seeded_at = shipped.created_at + timedelta(days=3)
    recent = [
        t for t in account.transactions if t.posted_at >= seeded_at - timedelta(days=30)
    ]
    assert len(recent) >= 5
    assert shipped.status is OrderStatus.SHIPPED
    assert shipped.carrier == "UPS" and shipped.tracking_number
    assert shipped.expected_delivery == seeded_at.date() + timedelta(days=2)
    assert processing.status is OrderStatus.PROCESSING
    assert delivered.status is OrderStatus.DELIVERED
    assert delivered.delivered_at == seeded_at - timedelta(days=10)
    assert delivered.delivered_at.tzinfo is timezone.utc


def test_bob_demo_data(session: Session) -> None:
    bob = session.scalars(
        select(Customer).where(Customer.email == "bob@example.com")
    ).one()
    assert bob.name == "Bob Li"
    assert [a.number for a in bob.accounts] == ["ACC-2001"]
    [order] = bob.orders
    assert (order.number, order.status) == ("ORD-2001", OrderStatus.DELIVERED)
    seeded_at = order.created_at + timedelta(days=50)
    assert order.delivered_at == seeded_at - timedelta(days=45)


def test_synthetic_customers(session: Session) -> None:
    synthetic = session.scalars(
        select(Customer)
        .where(Customer.email.like("customer%@example.net"))
        .options(
            selectinload(Customer.accounts).selectinload(Account.transactions),
            selectinload(Customer.orders).selectinload(Order.items),
        )
    ).all()
    assert len(synthetic) == SYNTHETIC_CUSTOMERS
    assert "customer0042@example.net" in {c.email for c in synthetic}
    assert all(1 <= len(c.orders) <= 3 and len(c.accounts) == 1 for c in synthetic)
    assert all(c.accounts[0].transactions for c in synthetic)
    numbers = sorted(
        int(o.number.removeprefix("ORD-")) for c in synthetic for o in c.orders
    )
    assert numbers == list(range(3000, 3000 + len(numbers)))
    for order in (o for c in synthetic for o in c.orders):
        assert order.items
        assert (order.delivered_at is not None) == (
            order.status is OrderStatus.DELIVERED
        )
        assert (order.carrier is not None) == (
            order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
        )


def test_seed_is_idempotent(engine: Engine) -> None:
    with session_scope(engine) as session:
        before = _row_counts(session)
        summary = seed(session)
    with session_scope(engine) as session:
        after = _row_counts(session)
    assert (summary.customers, summary.accounts, summary.orders) == (0, 0, 0)
    assert after == before
    assert before["customers"] == SYNTHETIC_CUSTOMERS + 2


def test_seed_is_deterministic(fresh_engine: Engine, engine: Engine) -> None:
    with session_scope(fresh_engine) as session:
        summary = seed(session)
    assert summary.customers == SYNTHETIC_CUSTOMERS + 2
    with session_scope(fresh_engine) as fresh, session_scope(engine) as template_copy:
        assert _fingerprint(fresh) == _fingerprint(template_copy)


def test_seed_fills_in_missing_rows_only(engine: Engine) -> None:
    """Rows are keyed by number: a deleted order comes back, nothing else changes."""
    with session_scope(engine) as session:
        order = _order(session, "ORD-1002")
        session.delete(order)
        session.flush()
        before = _row_counts(session)
    with session_scope(engine) as session:
        summary = seed(session)
        after = _row_counts(session)
        restored = _order(session, "ORD-1002")
        assert restored.customer.email == "alice@example.com"
        assert [i.sku for i in restored.items] == ["RS-220", "SK-003"]
    assert (summary.customers, summary.accounts, summary.orders) == (0, 0, 1)
    assert after["orders"] == before["orders"] + 1
    assert after["transactions"] == before["transactions"]


def test_seed_adds_the_help_center_once_and_keeps_edits(engine: Engine) -> None:
    from actions.db.models import Article
    from actions.kb import store

    with session_scope(engine) as session:
        assert len(store.articles(session)) >= 80
        store.find(session, "gift-wrapping").answer = "Edited by the shop."
        store.deactivate(session, "careers", actor="test")
    with session_scope(engine) as session:
        summary = seed(session)
    with session_scope(engine) as session:
        assert summary.articles == 0
        assert store.find(session, "gift-wrapping").answer == "Edited by the shop."
        assert not store.find(session, "careers").active
        session.delete(store.find(session, "press"))
    with session_scope(engine) as session:
        assert seed(session).articles == 1  # a deleted one comes back
        assert all(len(a.questions) >= 3 for a in session.query(Article))
