"""Repository behaviour on the seeded demo data, including every refusal path."""

from __future__ import annotations

import re
import threading
import time
from datetime import date, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from actions import shop_rules
from actions.db import repository as repo
from actions.db.engine import session_scope
from actions.db.models import (
    AuditAction,
    AuditLog,
    Order,
    OrderStatus,
    Refund,
    RefundStatus,
    Return,
    SupportTicket,
    TicketStatus,
)
from actions.db.repository import CancelResult, ReturnOutcome
from settings.action_server import RETURN_WINDOW_DAYS

INJECTION = "ORD-1001'; DROP TABLE orders;--"


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _audit_rows(session: Session, action: AuditAction) -> list[AuditLog]:
    return list(
        session.scalars(select(AuditLog).where(AuditLog.action == action.value))
    )


def _status(session: Session, number: str) -> OrderStatus:
    return session.scalars(select(Order.status).where(Order.number == number)).one()


# --- lookups -----------------------------------------------------------------


def test_find_order_normalises_number_and_email(session: Session) -> None:
    order = repo.find_order_for_customer(session, " ord-1001 ", "Alice@Example.COM")
    assert order is not None
    assert order.number == "ORD-1001"
    assert order.status is OrderStatus.SHIPPED
    assert order.carrier == "UPS" and order.tracking_number
    session.close()
    assert [item.sku for item in order.items] == ["WH-1000"]  # usable after the session


def test_find_order_refuses_other_customers_and_unknown_orders(
    session: Session,
) -> None:
    assert repo.find_order_for_customer(session, "ORD-1001", "bob@example.com") is None
    assert (
        repo.find_order_for_customer(session, "ORD-9999", "alice@example.com") is None
    )
    assert (
        repo.find_order_for_customer(session, "ORD-1001", "nobody@example.com") is None
    )


def test_injection_looking_input_is_just_data(session: Session, engine: Engine) -> None:
    orders_before = _count(session, Order)
    alice = "alice@example.com"
    assert repo.find_order_for_customer(session, INJECTION, alice) is None
    assert repo.find_order_for_customer(session, "ORD-1001", "x' OR '1'='1") is None
    assert repo.verify_account(session, "' OR 1=1;--", "4321") is None
    alice_id = repo.verify_account(session, alice, "4321").id
    assert (
        repo.cancel_order(session, INJECTION, alice_id, "conv")
        is CancelResult.NOT_FOUND
    )
    session.commit()
    assert inspect(engine).has_table("orders")
    assert _count(session, Order) == orders_before


def test_verify_account(session: Session) -> None:
    alice = repo.verify_account(session, "ALICE@example.com ", " 4321")
    assert alice is not None and alice.name == "Alice Chen"
    assert repo.verify_account(session, "bob@example.com", "8765").name == "Bob Li"
    assert repo.verify_account(session, "alice@example.com", "8765") is None
    assert repo.verify_account(session, "ghost@example.com", "4321") is None


def test_list_orders_newest_first_and_only_own(
    session: Session, alice_id: int, bob_id: int
) -> None:
    assert [o.number for o in repo.list_orders(session, alice_id)] == [
        "ORD-1002",
        "ORD-1001",
        "ORD-1003",
    ]
    assert [o.number for o in repo.list_orders(session, bob_id)] == ["ORD-2001"]


def test_get_order_items(session: Session, alice_id: int, bob_id: int) -> None:
    items = repo.get_order_items(session, "ord-1002", alice_id)
    assert [(i.sku, i.quantity, i.unit_price) for i in items] == [
        ("RS-220", 1, Decimal("120.00")),
        ("SK-003", 2, Decimal("12.50")),
    ]
    assert repo.get_order_items(session, "ORD-1002", bob_id) == []


def test_get_account_and_recent_transactions(session: Session, alice_id: int) -> None:
    account = repo.get_account(session, alice_id)
    assert account is not None
    assert (account.number, account.balance, account.currency) == (
        "ACC-1001",
        Decimal("2450.75"),
        "USD",
    )
    recent = repo.recent_transactions(session, account.id)
    assert len(recent) == 5
    posted = [t.posted_at for t in recent]
    assert posted == sorted(posted, reverse=True)
    assert all(t.posted_at.tzinfo is timezone.utc for t in recent)
    assert recent[0].description == "Online purchase - ORD-1001"
    assert recent[0].amount == Decimal("-89.99")
    assert len(repo.recent_transactions(session, account.id, limit=2)) == 2
    assert repo.get_account(session, -1) is None


# --- cancellation ------------------------------------------------------------


def test_cancel_processing_order_writes_status_and_one_audit_row(
    session: Session, alice_id: int
) -> None:
    assert (
        repo.cancel_order(session, "ord-1002", alice_id, "conv-1")
        is CancelResult.CANCELLED
    )
    session.commit()
    assert _status(session, "ORD-1002") is OrderStatus.CANCELLED
    [audit] = _audit_rows(session, AuditAction.CANCEL_ORDER)
    assert (audit.conversation_id, audit.target) == ("conv-1", "ORD-1002")
    assert audit.at.tzinfo is timezone.utc


def test_cancel_twice_is_harmless(session: Session, alice_id: int) -> None:
    assert (
        repo.cancel_order(session, "ORD-1002", alice_id, "conv")
        is CancelResult.CANCELLED
    )
    session.commit()
    second = repo.cancel_order(session, "ORD-1002", alice_id, "conv")
    session.commit()
    assert second is CancelResult.ALREADY_CANCELLED
    assert len(_audit_rows(session, AuditAction.CANCEL_ORDER)) == 1


@pytest.mark.parametrize("number", ["ORD-1001", "ORD-1003"])
def test_shipped_or_delivered_order_cannot_be_cancelled(
    session: Session, alice_id: int, number: str
) -> None:
    before = _status(session, number)
    assert (
        repo.cancel_order(session, number, alice_id, "conv")
        is CancelResult.NOT_CANCELLABLE
    )
    session.commit()
    assert _status(session, number) is before
    assert _audit_rows(session, AuditAction.CANCEL_ORDER) == []


def test_cannot_cancel_someone_elses_order(session: Session, bob_id: int) -> None:
    assert (
        repo.cancel_order(session, "ORD-1002", bob_id, "conv") is CancelResult.NOT_FOUND
    )
    assert (
        repo.cancel_order(session, "ORD-0000", bob_id, "conv") is CancelResult.NOT_FOUND
    )
    session.commit()
    assert _status(session, "ORD-1002") is OrderStatus.PROCESSING


def test_concurrent_cancels_write_once(
    engine: Engine, session: Session, alice_id: int
) -> None:
    """While one cancel is uncommitted, a second one waits, then sees it cancelled."""
    results: list[CancelResult] = []

    def second_cancel() -> None:
        with session_scope(engine) as other:
            results.append(repo.cancel_order(other, "ORD-1002", alice_id, "conv-b"))

    assert (
        repo.cancel_order(session, "ORD-1002", alice_id, "conv-a")
        is CancelResult.CANCELLED
    )
    thread = threading.Thread(target=second_cancel)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), "second cancel should block behind the first transaction"
    session.commit()
    thread.join(timeout=10)
    assert results == [CancelResult.ALREADY_CANCELLED]
    assert [
        a.conversation_id for a in _audit_rows(session, AuditAction.CANCEL_ORDER)
    ] == ["conv-a"]


def test_failed_transaction_leaves_no_partial_cancel(
    engine: Engine, alice_id: int
) -> None:
    """Status change and audit row commit together or not at all."""
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        repo.cancel_order(session, "ORD-1002", alice_id, "conv")
        raise RuntimeError("action crashed before replying")
    with session_scope(engine) as session:
        assert _status(session, "ORD-1002") is OrderStatus.PROCESSING
        assert _audit_rows(session, AuditAction.CANCEL_ORDER) == []


# --- returns and refunds -----------------------------------------------------


def test_create_return_for_recent_delivery(session: Session, alice_id: int) -> None:
    today = date.today()
    result = repo.create_return(session, "ORD-1003", alice_id, "Too noisy", "conv-r")
    session.commit()
    assert result.outcome is ReturnOutcome.CREATED
    assert re.fullmatch(r"RMA-[A-Z2-9]{6}", result.rma_number)
    assert result.refund_amount == Decimal("45.50")
    assert result.refund_expected_by == shop_rules.add_business_days(today, 5)
    refund = session.scalars(select(Refund)).one()
    assert (refund.status, refund.amount) == (RefundStatus.PENDING, Decimal("45.50"))
    assert refund.return_.rma_number == result.rma_number
    [audit] = _audit_rows(session, AuditAction.CREATE_RETURN)
    assert (audit.target, audit.conversation_id) == (result.rma_number, "conv-r")


def test_duplicate_return_gives_same_rma(session: Session, alice_id: int) -> None:
    first = repo.create_return(session, "ORD-1003", alice_id, "Broken", "conv")
    session.commit()
    second = repo.create_return(session, "ord-1003", alice_id, "Broken, again", "conv")
    session.commit()
    assert second.outcome is ReturnOutcome.ALREADY_EXISTS
    assert second.rma_number == first.rma_number
    assert second.refund_expected_by == first.refund_expected_by
    assert (_count(session, Return), _count(session, Refund)) == (1, 1)
    assert len(_audit_rows(session, AuditAction.CREATE_RETURN)) == 1


def test_return_window_passed(session: Session, bob_id: int) -> None:
    result = repo.create_return(session, "ORD-2001", bob_id, "Changed my mind", "conv")
    session.commit()
    assert result.outcome is ReturnOutcome.WINDOW_EXPIRED
    assert result.rma_number is None
    delivered = session.scalars(
        select(Order.delivered_at).where(Order.number == "ORD-2001")
    ).one()
    assert result.window_ends == delivered.date() + timedelta(days=30)
    assert _count(session, Return) == 0
    assert _audit_rows(session, AuditAction.CREATE_RETURN) == []


def test_return_window_is_configurable(
    session: Session, bob_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RETURN_WINDOW_DAYS.name, "60")
    result = repo.create_return(session, "ORD-2001", bob_id, "Late but allowed", "conv")
    assert result.outcome is ReturnOutcome.CREATED


def test_return_window_boundary(session: Session, alice_id: int) -> None:
    delivered = session.scalars(
        select(Order.delivered_at).where(Order.number == "ORD-1003")
    ).one()
    last_day = delivered.date() + timedelta(days=7)
    late = repo.create_return(
        session,
        "ORD-1003",
        alice_id,
        "x",
        "conv",
        today=last_day + timedelta(days=1),
        window_days=7,
    )
    assert late.outcome is ReturnOutcome.WINDOW_EXPIRED
    on_time = repo.create_return(
        session, "ORD-1003", alice_id, "x", "conv", today=last_day, window_days=7
    )
    assert on_time.outcome is ReturnOutcome.CREATED


@pytest.mark.parametrize("number", ["ORD-1001", "ORD-1002"])
def test_undelivered_order_cannot_be_returned(
    session: Session, alice_id: int, number: str
) -> None:
    result = repo.create_return(session, number, alice_id, "x", "conv")
    assert result.outcome is ReturnOutcome.NOT_DELIVERED
    assert _count(session, Return) == 0


def test_cannot_return_someone_elses_order(session: Session, bob_id: int) -> None:
    result = repo.create_return(session, "ORD-1003", bob_id, "x", "conv")
    assert result.outcome is ReturnOutcome.NOT_FOUND


def test_refund_status(session: Session, alice_id: int, bob_id: int) -> None:
    assert repo.refund_status(session, alice_id) == []
    created = repo.create_return(session, "ORD-1003", alice_id, "Broken", "conv")
    session.commit()
    [refund] = repo.refund_status(session, alice_id)
    assert refund.status is RefundStatus.PENDING
    assert refund.expected_by == created.refund_expected_by
    assert (refund.return_.rma_number, refund.return_.order.number) == (
        created.rma_number,
        "ORD-1003",
    )
    assert len(repo.refund_status(session, alice_id, order_number="ord-1003")) == 1
    assert repo.refund_status(session, alice_id, order_number="ORD-1001") == []
    assert repo.refund_status(session, bob_id) == []


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2024, 6, 3), 5, date(2024, 6, 10)),  # Monday -> next Monday
        (date(2024, 6, 7), 1, date(2024, 6, 10)),  # Friday -> Monday
        (date(2024, 6, 8), 5, date(2024, 6, 14)),  # Saturday -> Friday
    ],
)
def test_add_business_days(start: date, days: int, expected: date) -> None:
    assert shop_rules.add_business_days(start, days) == expected


# --- audit and tickets -------------------------------------------------------


def test_failed_verification_audit_never_holds_the_passcode(session: Session) -> None:
    email, attempt = "alice@example.com", "9999"
    assert repo.verify_account(session, email, attempt) is None
    repo.record_audit(
        session,
        "conv-v",
        actor="anonymous",
        action=AuditAction.VERIFICATION_FAILED,
        target=email,
    )
    session.commit()
    [row] = _audit_rows(session, AuditAction.VERIFICATION_FAILED)
    assert (row.conversation_id, row.actor, row.target) == (
        "conv-v",
        "anonymous",
        email,
    )
    assert all(attempt not in value for value in (row.actor, row.target, row.detail))


def test_create_ticket(session: Session, alice_id: int) -> None:
    trail = [{"turn": 1, "sentiment": "neutral"}, {"turn": 2, "sentiment": "negative"}]
    number = repo.create_ticket(
        session, "conv-t", "angry customer", "user: where is my order?", trail, alice_id
    )
    anonymous = repo.create_ticket(
        session, "conv-u", "asked for a human", "user: agent!", []
    )
    session.commit()
    assert re.fullmatch(r"TCK-[A-Z2-9]{6}", number) and anonymous != number
    session.expire_all()
    ticket = session.scalars(
        select(SupportTicket).where(SupportTicket.number == number)
    ).one()
    assert ticket.sentiment_trail == trail
    assert ticket.status is TicketStatus.OPEN
    assert ticket.customer_id == alice_id
    assert ticket.created_at.tzinfo is timezone.utc
    other = session.scalars(
        select(SupportTicket).where(SupportTicket.number == anonymous)
    ).one()
    assert other.customer_id is None
