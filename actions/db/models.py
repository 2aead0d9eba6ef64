"""ORM models: the single description of the assistant's tables.

The Alembic migrations (actions/db/migrations/versions) mirror these
definitions; a test compares the two so that they cannot drift apart silently.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, relationship, validates
from sqlalchemy.types import TypeDecorator, TypeEngine

# Deterministic constraint names, so later migrations (including SQLite batch
# mode, which recreates tables) can refer to constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def normalise_email(email: str) -> str:
    """Canonical form of an email address: emails are matched case-insensitively."""
    return email.strip().lower()


def utcnow() -> datetime:
    """Current time as an aware UTC datetime (the only kind the models store)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timestamp that is always timezone-aware UTC in Python.

    SQLite has no timezone support and returns naive values; PostgreSQL returns
    values in the session time zone. Normalising here keeps callers from ever
    comparing naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Money(TypeDecorator):
    """NUMERIC(12, 2) that yields exact ``Decimal`` amounts on every backend.

    SQLite has no decimal type and hands back floats; two-decimal amounts of
    this size survive the float round trip exactly once re-quantised to cents,
    so we do that explicitly instead of relying on SQLAlchemy's lossy-decimal
    fallback (which warns on every engine).
    """

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(12, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(12, 2))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.01"))


def _status_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """Status column stored as its string value, guarded by a CHECK constraint."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class OrderStatus(str, enum.Enum):
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class ReturnStatus(str, enum.Enum):
    REQUESTED = "requested"
    RECEIVED = "received"
    REJECTED = "rejected"


class RefundStatus(str, enum.Enum):
    PENDING = "pending"
    PROCESSED = "processed"


class TicketStatus(str, enum.Enum):
    OPEN = "open"
    RELEASED = "released"


class DeliveryStatus(str, enum.Enum):
    """Whether the help desk's webhook has accepted a ticket yet."""

    PENDING = "pending"
    DELIVERED = "delivered"


class AuditAction(str, enum.Enum):
    CANCEL_ORDER = "cancel_order"
    CREATE_RETURN = "create_return"
    VERIFICATION_FAILED = "verification_failed"
    RELEASE_CONVERSATION = "release_conversation"


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    email = Column(String(254), nullable=False, unique=True)
    passcode_hash = Column(String(200), nullable=False)

    accounts = relationship(
        "Account", back_populates="customer", cascade="all, delete-orphan"
    )
    orders = relationship(
        "Order", back_populates="customer", cascade="all, delete-orphan"
    )

    @validates("email")
    def _normalise_email(self, _key: str, email: str) -> str:
        """Store emails canonically so lookups can use the unique index directly."""
        return normalise_email(email)


class Account(Base):
    __tablename__ = "accounts"

    id = Column(Integer, primary_key=True)
    number = Column(String(20), nullable=False, unique=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False, index=True)
    balance = Column(Money, nullable=False)
    currency = Column(String(3), nullable=False)

    customer = relationship("Customer", back_populates="accounts")
    transactions = relationship(
        "Transaction", back_populates="account", cascade="all, delete-orphan"
    )


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_account_posted", "account_id", "posted_at"),
    )

    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.id"), nullable=False)
    amount = Column(Money, nullable=False)
    description = Column(String(200), nullable=False)
    posted_at = Column(UTCDateTime, nullable=False, default=utcnow)

    account = relationship("Account", back_populates="transactions")


class Order(Base):
    __tablename__ = "orders"

    id = Column(Integer, primary_key=True)
    number = Column(String(20), nullable=False, unique=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False, index=True)
    status = Column(_status_enum(OrderStatus, "order_status"), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    carrier = Column(String(40))
    tracking_number = Column(String(40))
    expected_delivery = Column(Date)
    delivered_at = Column(UTCDateTime)

    customer = relationship("Customer", back_populates="orders")
    items = relationship(
        "OrderItem",
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderItem.id",
    )

    @property
    def total(self) -> Decimal:
        """Sum of the line items, i.e. what a full refund pays back."""
        return sum(
            (item.quantity * item.unit_price for item in self.items), Decimal("0.00")
        )


class OrderItem(Base):
    __tablename__ = "order_items"

    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id"), nullable=False, index=True)
    sku = Column(String(40), nullable=False)
    name = Column(String(200), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price = Column(Money, nullable=False)

    order = relationship("Order", back_populates="items")


class Return(Base):
    """A return request; ``item_id`` is NULL when the whole order goes back."""

    __tablename__ = "returns"

    id = Column(Integer, primary_key=True)
    rma_number = Column(String(20), nullable=False, unique=True)
    # One return per order: the unique constraint backs up the duplicate check
    # in repository.create_return against concurrent requests.
    order_id = Column(ForeignKey("orders.id"), nullable=False, unique=True)
    item_id = Column(ForeignKey("order_items.id"))
    reason = Column(Text, nullable=False)
    status = Column(_status_enum(ReturnStatus, "return_status"), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    order = relationship("Order")
    refund = relationship("Refund", back_populates="return_", uselist=False)


class Refund(Base):
    __tablename__ = "refunds"

    id = Column(Integer, primary_key=True)
    return_id = Column(ForeignKey("returns.id"), nullable=False, unique=True)
    amount = Column(Money, nullable=False)
    status = Column(_status_enum(RefundStatus, "refund_status"), nullable=False)
    processed_at = Column(UTCDateTime)
    expected_by = Column(Date, nullable=False)

    return_ = relationship("Return", back_populates="refund")


class SupportTicket(Base):
    __tablename__ = "support_tickets"

    id = Column(Integer, primary_key=True)
    number = Column(String(20), nullable=False, unique=True)
    conversation_id = Column(String(100), nullable=False, index=True)
    customer_id = Column(ForeignKey("customers.id"), index=True)
    reason = Column(String(200), nullable=False)
    sentiment_trail = Column(JSON, nullable=False)
    transcript = Column(Text, nullable=False)
    status = Column(_status_enum(TicketStatus, "ticket_status"), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    customer = relationship("Customer")
    delivery = relationship(
        "TicketDelivery",
        back_populates="ticket",
        uselist=False,
        cascade="all, delete-orphan",
    )


class TicketDelivery(Base):
    """Hand-over of a ticket to the help desk's webhook ($HANDOFF_WEBHOOK_URL).

    A row exists only for tickets opened while a webhook was configured. It is
    written with the ticket, so a ticket whose delivery fails is never lost:
    it stays ``pending`` with its attempts and last error until one succeeds.
    """

    __tablename__ = "ticket_deliveries"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("support_tickets.id"), nullable=False, unique=True)
    status = Column(_status_enum(DeliveryStatus, "delivery_status"), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(200))
    last_attempt_at = Column(UTCDateTime)
    delivered_at = Column(UTCDateTime)

    ticket = relationship("SupportTicket", back_populates="delivery")


class CsatRating(Base):
    """A customer's 1-5 rating of a conversation the assistant resolved."""

    __tablename__ = "csat_ratings"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(100), nullable=False, index=True)
    rating = Column(Integer, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class AuditLog(Base):
    """Append-only record of sensitive actions; never holds secrets (passcodes)."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow)
    conversation_id = Column(String(100), nullable=False, index=True)
    actor = Column(String(100), nullable=False)
    action = Column(String(40), nullable=False)
    target = Column(String(100), nullable=False)
    detail = Column(Text, nullable=False, default="")


class Article(Base):
    """A help-center article: the answer to questions no task intent covers.

    ``questions`` and ``tags`` are JSON lists. ``embedding`` is the sentence
    embedding of the article's text (float32 bytes), computed when the article is
    added or changed, so every process builds its index without recomputing it.
    Changes are recorded in the audit log (action ``kb_add``/``kb_edit``/...).
    """

    __tablename__ = "kb_articles"

    id = Column(Integer, primary_key=True)
    slug = Column(String(100), nullable=False, unique=True)
    title = Column(String(200), nullable=False, unique=True)
    answer = Column(Text, nullable=False)
    questions = Column(JSON, nullable=False, default=list)
    tags = Column(JSON, nullable=False, default=list)
    language = Column(String(8), nullable=False, default="en")
    active = Column(
        Boolean(),
        nullable=False,
        default=True,
    )
    embedding = Column(LargeBinary, nullable=True)
    # The model that made ``embedding``: vectors of another model are recomputed.
    embedding_model = Column(String(200), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class KbAnswer(Base):
    """One answer (or honest decline) of the knowledge base, and its vote.

    ``question`` is stored with secrets masked (card numbers, passcodes), like
    every other text the assistant keeps. ``article_slug`` is the best match
    even when declined, which shows what the help center is missing.
    """

    __tablename__ = "kb_answers"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(100), nullable=False, index=True)
    question = Column(Text, nullable=False)
    article_slug = Column(String(100), nullable=True)
    score = Column(Float, nullable=False)
    answered = Column(Boolean(), nullable=False)
    helpful = Column(Boolean(), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    voted_at = Column(UTCDateTime, nullable=True)


class SentimentAlert(Base):
    """A surge of negative customer messages the detector found (analytics/alerts.py).

    ``key`` (topic and moment) makes detection safe to repeat: a second run,
    or a second watcher, finds the same alarm and stores nothing new.
    ``examples`` are three of the surge's negative messages, masked. An alert
    is delivered to $ALERT_WEBHOOK_URL until it is accepted: ``delivered_at``
    stays empty and every attempt is counted.
    """

    __tablename__ = "sentiment_alerts"

    id = Column(Integer, primary_key=True)
    key = Column(String(200), nullable=False, unique=True)
    topic = Column(String(100), nullable=False)
    raised_at = Column(UTCDateTime, nullable=False, index=True)
    since = Column(UTCDateTime, nullable=False)
    baseline_share = Column(Float, nullable=False)
    current_share = Column(Float, nullable=False)
    messages = Column(Integer, nullable=False)
    examples = Column(JSON, nullable=False, default=list)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(200))
    delivered_at = Column(UTCDateTime)


class ReviewItem(Base):
    """A customer message the assistant may have got wrong, for a person to review.

    Found in the conversations by learning/queue.py, with why (``reasons``), the
    model's three best intents and the bot's message before it. Only masked text
    is kept. ``fingerprint`` (the masked text, normalised) merges repeats of one
    message into one item, counted in ``occurrences``, so nothing is offered
    twice; ``group_id`` is the item whose wording it resembles (itself when it
    leads its group), for reviewing similar messages together.
    """

    __tablename__ = "review_items"

    id = Column(Integer, primary_key=True)
    fingerprint = Column(String(64), nullable=False, unique=True)
    text = Column(Text, nullable=False)
    language = Column(String(8), nullable=True)
    reasons = Column(JSON, nullable=False, default=list)
    top_intents = Column(JSON, nullable=False, default=list)  # [[name, confidence]]
    previous_bot_message = Column(Text, nullable=True)
    conversation_id = Column(String(100), nullable=False)
    occurred_at = Column(UTCDateTime, nullable=False, index=True)
    occurrences = Column(Integer, nullable=False, default=1)
    group_id = Column(Integer, nullable=True, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class ReviewDecision(Base):
    """What a reviewer decided about one review item, who, and when.

    One per item (``item_id`` is unique): a decided item is never offered
    again, and deciding twice is refused. ``exported_at`` is set when the
    decision was written to data/reviewed/ or the help center.
    """

    __tablename__ = "review_decisions"
    __table_args__ = (
        CheckConstraint(
            "verdict IN ('accepted', 'corrected', 'out_of_scope', 'kb_example', "
            "'new_intent')",
            name="verdict_known",
        ),
    )

    id = Column(Integer, primary_key=True)
    item_id = Column(ForeignKey("review_items.id"), nullable=False, unique=True)
    verdict = Column(String(20), nullable=False)
    intent = Column(String(100), nullable=True)  # accepted, corrected, new_intent
    article_slug = Column(String(100), nullable=True)  # kb_example
    reviewer = Column(String(100), nullable=False)
    decided_at = Column(UTCDateTime, nullable=False, default=utcnow)
    exported_at = Column(UTCDateTime, nullable=True)


class ReviewScan(Base):
    """A stretch of the conversations already searched for review items, so
    building the queue again reads only what came since (safe to repeat)."""

    __tablename__ = "review_scans"

    id = Column(Integer, primary_key=True)
    scanned_from = Column(UTCDateTime, nullable=False)
    scanned_to = Column(UTCDateTime, nullable=False, index=True)
    items_added = Column(Integer, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
