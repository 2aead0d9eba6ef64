"""The queries and commands the action server runs against the database.

Every function works inside the caller's session and never commits: the caller's
``session_scope()`` owns the transaction, so a state change and its audit row
are committed or rolled back together. Values only ever reach SQL as bound
parameters (ORM expressions), never by string formatting.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, contains_eager, selectinload

from actions.db.models import (
    Account,
    AuditAction,
    AuditLog,
    CsatRating,
    Customer,
    DeliveryStatus,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
    Return,
    ReturnStatus,
    SupportTicket,
    TicketDelivery,
    TicketStatus,
    Transaction,
    normalise_email,
    utcnow,
)
from actions.db.security import hash_passcode, verify_passcode
from actions.shop_rules import (
    REFUND_BUSINESS_DAYS,
    add_business_days,
    return_window_days,
)

# Reference codes are read out to customers: no 0/O or 1/I look-alikes.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


class CancelResult(str, enum.Enum):
    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already_cancelled"
    NOT_CANCELLABLE = "not_cancellable"
    NOT_FOUND = "not_found"


class ReturnOutcome(str, enum.Enum):
    CREATED = "created"
    ALREADY_EXISTS = "already_exists"
    NOT_DELIVERED = "not_delivered"
    WINDOW_EXPIRED = "window_expired"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class ReturnResult:
    """What the bot needs to answer a return request, whatever the outcome."""

    outcome: ReturnOutcome
    rma_number: str | None = None
    refund_amount: Decimal | None = None
    refund_expected_by: date | None = None
    window_ends: date | None = None


# Status a cancel request finds -> answer, for every status except "processing".
_CANCEL_REFUSALS = {
    OrderStatus.CANCELLED: CancelResult.ALREADY_CANCELLED,
    OrderStatus.SHIPPED: CancelResult.NOT_CANCELLABLE,
    OrderStatus.DELIVERED: CancelResult.NOT_CANCELLABLE,
}


def normalise_order_number(order_number: str) -> str:
    """Order numbers are stored upper-case; users type them any way."""
    return order_number.strip().upper()


def _owned_by(order_number: str, customer_id: int) -> tuple[Any, ...]:
    """WHERE criteria: the order with this number, if ``customer_id`` owns it."""
    return (
        Order.number == normalise_order_number(order_number),
        Order.customer_id == customer_id,
    )


def _new_code(session: Session, column: Any, prefix: str) -> str:
    """A fresh random reference such as ``RMA-7KQ2MX`` not yet used in ``column``."""
    while True:
        code = f"{prefix}-" + "".join(
            secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)
        )
        if session.scalar(select(column).where(column == code)) is None:
            return code


@lru_cache(maxsize=1)
def _unknown_customer_hash() -> str:
    """A real hash to check against when the email is unknown (see verify_account)."""
    return hash_passcode(secrets.token_hex(8))


def find_order_for_customer(
    session: Session, order_number: str, email: str
) -> Order | None:
    """The order if it exists *and* belongs to ``email``; None otherwise.

    "Not found" and "not yours" are deliberately indistinguishable so the bot
    cannot be used to probe which order numbers exist.
    """
    stmt = (
        select(Order)
        .join(Order.customer)
        .where(
            Order.number == normalise_order_number(order_number),
            Customer.email == normalise_email(email),
        )
        .options(selectinload(Order.items))
    )
    return session.scalars(stmt).one_or_none()


def verify_account(session: Session, email: str, passcode: str) -> Customer | None:
    """The customer if ``passcode`` is right for ``email``, else None.

    Unknown emails still pay for one hash so response time does not reveal
    which emails are registered.
    """
    customer = session.scalars(
        select(Customer).where(Customer.email == normalise_email(email))
    ).one_or_none()
    stored_hash = (
        customer.passcode_hash if customer is not None else _unknown_customer_hash()
    )
    matches = verify_passcode(passcode.strip(), stored_hash)
    return customer if customer is not None and matches else None


def list_orders(session: Session, customer_id: int) -> list[Order]:
    """The customer's orders, newest first, with their items loaded."""
    stmt = (
        select(Order)
        .where(Order.customer_id == customer_id)
        .options(selectinload(Order.items))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    return list(session.scalars(stmt))


def get_order_items(
    session: Session, order_number: str, customer_id: int
) -> list[OrderItem]:
    """Line items of one of the customer's orders (empty if not theirs or unknown)."""
    stmt = (
        select(OrderItem)
        .join(OrderItem.order)
        .where(*_owned_by(order_number, customer_id))
        .order_by(OrderItem.id)
    )
    return list(session.scalars(stmt))


def cancel_order(
    session: Session, order_number: str, customer_id: int, conversation_id: str
) -> CancelResult:
    """Cancel a processing order and audit it; repeating the request is harmless.

    ``FOR UPDATE`` serialises concurrent cancels on PostgreSQL. SQLite ignores
    it, so the UPDATE is also guarded on the old status: only one writer can
    win, and the loser reports what the winner did.
    """
    order = session.scalars(
        select(Order).where(*_owned_by(order_number, customer_id)).with_for_update()
    ).one_or_none()
    if order is None:
        return CancelResult.NOT_FOUND
    if order.status in _CANCEL_REFUSALS:
        return _CANCEL_REFUSALS[order.status]
    updated = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PROCESSING)
        .values(status=OrderStatus.CANCELLED)
    )
    if updated.rowcount != 1:
        session.refresh(order)
        return _CANCEL_REFUSALS[order.status]
    record_audit(
        session,
        conversation_id,
        actor=f"customer:{customer_id}",
        action=AuditAction.CANCEL_ORDER,
        target=order.number,
        detail="processing -> cancelled",
    )
    return CancelResult.CANCELLED


def create_return(
    session: Session,
    order_number: str,
    customer_id: int,
    reason: str,
    conversation_id: str,
    today: date | None = None,
    window_days: int | None = None,
) -> ReturnResult:
    """Open a whole-order return with a pending refund, or explain why not.

    Only delivered orders within the return window qualify. Asking twice gives
    back the existing RMA rather than a duplicate.
    """
    today = today or utcnow().date()
    window_days = return_window_days() if window_days is None else window_days
    order = session.scalars(
        select(Order)
        .where(*_owned_by(order_number, customer_id))
        .options(selectinload(Order.items))
        .with_for_update()
    ).one_or_none()
    if order is None:
        return ReturnResult(ReturnOutcome.NOT_FOUND)

    existing = session.scalars(
        select(Return)
        .where(Return.order_id == order.id)
        .options(selectinload(Return.refund))
    ).one_or_none()
    if existing is not None:
        refund = existing.refund
        return ReturnResult(
            ReturnOutcome.ALREADY_EXISTS,
            rma_number=existing.rma_number,
            refund_amount=refund.amount if refund is not None else None,
            refund_expected_by=refund.expected_by if refund is not None else None,
        )

    if order.status is not OrderStatus.DELIVERED or order.delivered_at is None:
        return ReturnResult(ReturnOutcome.NOT_DELIVERED)
    window_ends = order.delivered_at.date() + timedelta(days=window_days)
    if today > window_ends:
        return ReturnResult(ReturnOutcome.WINDOW_EXPIRED, window_ends=window_ends)

    refund = Refund(
        amount=order.total,
        status=RefundStatus.PENDING,
        expected_by=add_business_days(today, REFUND_BUSINESS_DAYS),
    )
    rma = Return(
        rma_number=_new_code(session, Return.rma_number, "RMA"),
        order=order,
        reason=reason,
        status=ReturnStatus.REQUESTED,
        refund=refund,
    )
    session.add(rma)
    record_audit(
        session,
        conversation_id,
        actor=f"customer:{customer_id}",
        action=AuditAction.CREATE_RETURN,
        target=rma.rma_number,
        detail=f"order {order.number}, refund {refund.amount}",
    )
    return ReturnResult(
        ReturnOutcome.CREATED,
        rma_number=rma.rma_number,
        refund_amount=refund.amount,
        refund_expected_by=refund.expected_by,
        window_ends=window_ends,
    )


def refund_status(
    session: Session, customer_id: int, order_number: str | None = None
) -> list[Refund]:
    """The customer's refunds, newest return first, optionally for one order.

    Each refund comes with ``return_`` and ``return_.order`` loaded.
    """
    stmt = (
        select(Refund)
        .join(Refund.return_)
        .join(Return.order)
        .where(Order.customer_id == customer_id)
        .options(contains_eager(Refund.return_).contains_eager(Return.order))
        .order_by(Return.created_at.desc(), Refund.id.desc())
    )
    if order_number is not None:
        stmt = stmt.where(Order.number == normalise_order_number(order_number))
    return list(session.scalars(stmt))


def get_account(session: Session, customer_id: int) -> Account | None:
    """The customer's (first) bank account."""
    stmt = (
        select(Account).where(Account.customer_id == customer_id).order_by(Account.id)
    )
    return session.scalars(stmt).first()


def recent_transactions(
    session: Session, account_id: int, limit: int = 5
) -> list[Transaction]:
    """The account's latest ``limit`` transactions, newest first."""
    stmt = (
        select(Transaction)
        .where(Transaction.account_id == account_id)
        .order_by(Transaction.posted_at.desc(), Transaction.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def record_audit(
    session: Session,
    conversation_id: str,
    actor: str,
    action: AuditAction,
    target: str,
    detail: str = "",
) -> AuditLog:
    """Append an audit row in the caller's transaction.

    Never pass secrets: for failed verifications record who tried (the email
    as ``target``), not what they typed.
    """
    entry = AuditLog(
        conversation_id=conversation_id,
        actor=actor,
        action=action.value,
        target=target,
        detail=detail,
    )
    session.add(entry)
    return entry


def create_ticket(
    session: Session,
    conversation_id: str,
    reason: str,
    transcript: str,
    sentiment_trail: Sequence[Any],
    customer_id: int | None = None,
    deliver: bool = False,
) -> str:
    """Open a hand-off ticket for a human agent and return its ``TCK-`` number.

    ``sentiment_trail`` is stored as JSON, so it must be JSON-serialisable.
    ``deliver`` queues the ticket for the help desk's webhook in the same
    transaction, so a committed ticket is always either queued or not wanted.
    """
    ticket = SupportTicket(
        number=_new_code(session, SupportTicket.number, "TCK"),
        conversation_id=conversation_id,
        customer_id=customer_id,
        reason=reason,
        sentiment_trail=list(sentiment_trail),
        transcript=transcript,
        status=TicketStatus.OPEN,
    )
    if deliver:
        ticket.delivery = TicketDelivery(status=DeliveryStatus.PENDING, attempts=0)
    session.add(ticket)
    return ticket.number


def get_ticket(session: Session, number: str) -> SupportTicket | None:
    """One ticket with its customer and delivery state loaded."""
    return session.scalars(
        select(SupportTicket)
        .where(SupportTicket.number == number)
        .options(
            selectinload(SupportTicket.customer), selectinload(SupportTicket.delivery)
        )
    ).one_or_none()


def open_tickets(session: Session) -> list[SupportTicket]:
    """Tickets waiting for an agent, oldest first, with customer and delivery."""
    return list(
        session.scalars(
            select(SupportTicket)
            .where(SupportTicket.status == TicketStatus.OPEN)
            .options(
                selectinload(SupportTicket.customer),
                selectinload(SupportTicket.delivery),
            )
            .order_by(SupportTicket.created_at, SupportTicket.id)
        )
    )


def has_open_ticket(session: Session, conversation_id: str) -> bool:
    """Whether the conversation is with a person (and the assistant must stay quiet)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    SupportTicket.conversation_id == conversation_id,
                    SupportTicket.status == TicketStatus.OPEN,
                )
            )
        )
    )


def release_conversation(session: Session, number: str, agent: str) -> str | None:
    """Mark every open ticket of ``number``'s conversation released; audit it.

    Returns the conversation id, or None if ``number`` is unknown. All of the
    conversation's tickets go, because resuming it ends the hand-over for all.
    """
    ticket = session.scalars(
        select(SupportTicket).where(SupportTicket.number == number)
    ).one_or_none()
    if ticket is None:
        return None
    released = session.execute(
        update(SupportTicket)
        .where(
            SupportTicket.conversation_id == ticket.conversation_id,
            SupportTicket.status == TicketStatus.OPEN,
        )
        .values(status=TicketStatus.RELEASED)
        .execution_options(synchronize_session="fetch")
    )
    record_audit(
        session,
        ticket.conversation_id,
        actor=f"agent:{agent}"[:100],
        action=AuditAction.RELEASE_CONVERSATION,
        target=ticket.number,
        detail=f"{released.rowcount} open ticket(s) released",
    )
    return ticket.conversation_id


def pending_deliveries(session: Session) -> list[str]:
    """Numbers of tickets the webhook has not accepted yet, oldest first."""
    return list(
        session.scalars(
            select(SupportTicket.number)
            .join(SupportTicket.delivery)
            .where(TicketDelivery.status == DeliveryStatus.PENDING)
            .order_by(SupportTicket.created_at, SupportTicket.id)
        )
    )


def record_delivery_attempt(
    session: Session, number: str, error: str | None
) -> TicketDelivery | None:
    """Count one webhook attempt for ticket ``number``: delivered, or why not.

    A ticket already delivered (e.g. by a concurrent retry) stays delivered.
    """
    delivery = session.scalars(
        select(TicketDelivery)
        .join(TicketDelivery.ticket)
        .where(SupportTicket.number == number)
        .with_for_update()
    ).one_or_none()
    if delivery is None or delivery.status is DeliveryStatus.DELIVERED:
        return delivery
    now = utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    if error is None:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.last_error = None
    else:
        delivery.last_error = error[:200]
    return delivery


def save_rating(session: Session, conversation_id: str, rating: int) -> CsatRating:
    """Store a 1-5 satisfaction rating; the CHECK constraint backs up the range."""
    if not 1 <= rating <= 5:
        raise ValueError(f"rating must be 1 to 5, not {rating}")
    entry = CsatRating(conversation_id=conversation_id, rating=rating)
    session.add(entry)
    return entry
