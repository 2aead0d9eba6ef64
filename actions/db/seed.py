"""Demo data: the scripted demo customers plus ~300 deterministic synthetic ones.

Idempotent: customers are keyed by email, accounts and orders by number, and
only missing rows are inserted, so a second run changes nothing. Dates are
relative to the run that first inserted a row.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.db.models import (
    Account,
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    Transaction,
    utcnow,
)
from actions.db.security import hash_passcode
from actions.kb.articles import read_markdown_folder
from actions.kb.store import add_missing_articles

RANDOM_SEED = 20240601
SYNTHETIC_CUSTOMERS = 300
FIRST_SYNTHETIC_ORDER = 3000
FIRST_SYNTHETIC_ACCOUNT = 3000
# Synthetic customers share one passcode (and therefore one hash): hashing 300
# distinct passcodes at full PBKDF2 strength would make seeding take a minute.
SYNTHETIC_PASSCODE = "0000"

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas",
    "Kavya", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi",
    "Schmidt", "Tanaka", "Williams",
)  # fmt: skip
CATALOG = {
    "WH-1000": ("Wireless headphones", "89.99"),
    "RS-220": ("Running shoes", "120.00"),
    "SK-003": ("Sport socks (3-pack)", "12.50"),
    "CG-450": ("Coffee grinder", "45.50"),
    "DL-100": ("Desk lamp", "39.95"),
    "BP-300": ("Laptop backpack", "64.00"),
    "WB-750": ("Insulated water bottle", "24.99"),
    "KB-870": ("Mechanical keyboard", "129.00"),
    "MS-210": ("Wireless mouse", "29.99"),
    "YM-600": ("Yoga mat", "35.00"),
    "TK-120": ("Electric kettle", "49.90"),
    "PB-020": ("Power bank 20000 mAh", "42.00"),
}
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
# Relative frequency of each status among synthetic orders.
STATUS_WEIGHTS = {
    OrderStatus.PROCESSING: 2,
    OrderStatus.SHIPPED: 2,
    OrderStatus.DELIVERED: 5,
    OrderStatus.CANCELLED: 1,
}
DEBITS = (
    "Grocery - FreshMart", "Coffee - Bean There", "Fuel - QuickGas",
    "Streaming subscription", "Pharmacy - WellCare", "Restaurant - Trattoria Roma",
    "Phone bill - Telco", "Online purchase",
)  # fmt: skip
CREDITS = ("Payroll deposit", "Transfer from savings", "Refund - Online purchase")


@dataclass
class CustomerSpec:
    """A customer to ensure exists; the passcode is hashed only if it is inserted."""

    name: str
    email: str
    passcode: str
    accounts: list[Account] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


@dataclass(frozen=True)
class SeedSummary:
    """How many rows of each keyed kind this run inserted (all zero on a re-run)."""

    customers: int
    accounts: int
    orders: int
    articles: int = 0


# The demo shop's help center, in English and in Chinese: a company replaces it
# with its own articles.
DATA = Path(__file__).resolve().parents[2] / "data"
HELP_CENTERS = (DATA / "help_center", DATA / "help_center_zh")


def _cents(cents: int) -> Decimal:
    """Exact two-decimal amount from an integer number of cents."""
    return Decimal(cents) / 100


def _item(sku: str, quantity: int = 1) -> OrderItem:
    name, price = CATALOG[sku]
    return OrderItem(sku=sku, name=name, quantity=quantity, unit_price=Decimal(price))


def _transactions(
    now: datetime, entries: list[tuple[int, str, str]]
) -> list[Transaction]:
    """Transactions from ``(days_ago, description, amount)`` entries."""
    return [
        Transaction(
            amount=Decimal(amount),
            description=description,
            posted_at=now - timedelta(days=days_ago),
        )
        for days_ago, description, amount in entries
    ]


def demo_customers(now: datetime) -> list[CustomerSpec]:
    """The two scripted customers the conversation tests and demos rely on."""
    today = now.date()
    alice = CustomerSpec("Alice Chen", "alice@example.com", "4321")
    alice.accounts.append(
        Account(
            number="ACC-1001",
            balance=Decimal("2450.75"),
            currency="USD",
            transactions=_transactions(
                now,
                [
                    (28, "Payroll deposit - Northwind Traders", "3150.00"),
                    (26, "Rent - Maple Court Apartments", "-1400.00"),
                    (21, "Grocery - FreshMart", "-86.40"),
                    (14, "Electric bill - City Power", "-72.15"),
                    (9, "Transfer from savings", "500.00"),
                    (6, "Coffee - Bean There", "-4.85"),
                    (3, "Online purchase - ORD-1001", "-89.99"),
                ],
            ),
        )
    )
    alice.orders += [
        Order(
            number="ORD-1001",
            status=OrderStatus.SHIPPED,
            created_at=now - timedelta(days=3),
            carrier="UPS",
            tracking_number="1Z999AA10123456784",
            expected_delivery=today + timedelta(days=2),
            items=[_item("WH-1000")],
        ),
        Order(
            number="ORD-1002",
            status=OrderStatus.PROCESSING,
            created_at=now - timedelta(hours=20),
            items=[_item("RS-220"), _item("SK-003", quantity=2)],
        ),
        Order(
            number="ORD-1003",
            status=OrderStatus.DELIVERED,
            created_at=now - timedelta(days=15),
            carrier="FedEx",
            tracking_number="612345678901",
            expected_delivery=today - timedelta(days=10),
            delivered_at=now - timedelta(days=10),
            items=[_item("CG-450")],
        ),
    ]

    bob = CustomerSpec("Bob Li", "bob@example.com", "8765")
    bob.accounts.append(
        Account(
            number="ACC-2001",
            balance=Decimal("812.40"),
            currency="USD",
            transactions=_transactions(
                now,
                [
                    (27, "Payroll deposit - Contoso Ltd", "2100.00"),
                    (25, "Rent - Harbor View Flats", "-1250.00"),
                    (18, "Grocery - FreshMart", "-64.20"),
                    (11, "Phone bill - Telco", "-45.00"),
                    (4, "Restaurant - Trattoria Roma", "-38.60"),
                ],
            ),
        )
    )
    bob.orders.append(
        Order(
            number="ORD-2001",
            status=OrderStatus.DELIVERED,
            created_at=now - timedelta(days=50),
            carrier="USPS",
            tracking_number="9400111899223344556677",
            expected_delivery=today - timedelta(days=45),
            delivered_at=now - timedelta(days=45),
            items=[_item("DL-100")],
        )
    )
    return [alice, bob]


def _tracking_number(rng: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        return "1Z" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
    return "".join(rng.choices(string.digits, k=12 if carrier == "FedEx" else 20))


def _synthetic_order(rng: random.Random, number: str, now: datetime) -> Order:
    """A plausible order whose dates and shipping fields match its status."""
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    skus = rng.sample(list(CATALOG), rng.randint(1, 3))
    items = [_item(sku, quantity=rng.randint(1, 2)) for sku in skus]
    order = Order(number=number, status=status, items=items)
    if status is OrderStatus.PROCESSING:
        order.created_at = now - timedelta(hours=rng.randint(1, 48))
    elif status is OrderStatus.CANCELLED:
        order.created_at = now - timedelta(days=rng.randint(1, 60))
    else:
        order.carrier = rng.choice(CARRIERS)
        order.tracking_number = _tracking_number(rng, order.carrier)
        if status is OrderStatus.SHIPPED:
            order.created_at = now - timedelta(days=rng.randint(1, 5))
            order.expected_delivery = now.date() + timedelta(days=rng.randint(1, 5))
        else:
            order.created_at = now - timedelta(days=rng.randint(9, 120))
            order.delivered_at = order.created_at + timedelta(days=rng.randint(2, 7))
            order.expected_delivery = order.delivered_at.date()
    return order


def synthetic_customers(now: datetime, rng: random.Random) -> list[CustomerSpec]:
    """``SYNTHETIC_CUSTOMERS`` customers, identical for the same ``rng`` seed."""
    specs = []
    order_number = FIRST_SYNTHETIC_ORDER
    for index in range(1, SYNTHETIC_CUSTOMERS + 1):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        spec = CustomerSpec(
            name, f"customer{index:04d}@example.net", SYNTHETIC_PASSCODE
        )
        transactions = []
        for _ in range(rng.randint(3, 8)):
            if rng.random() < 0.25:
                description, cents = rng.choice(CREDITS), rng.randint(50_00, 3000_00)
            else:
                description, cents = rng.choice(DEBITS), -rng.randint(1_00, 250_00)
            posted_at = now - timedelta(
                days=rng.randint(0, 60), minutes=rng.randint(0, 1439)
            )
            transactions.append(
                Transaction(
                    amount=_cents(cents), description=description, posted_at=posted_at
                )
            )
        spec.accounts.append(
            Account(
                number=f"ACC-{FIRST_SYNTHETIC_ACCOUNT + index - 1}",
                balance=_cents(rng.randint(20_00, 9000_00)),
                currency="USD",
                transactions=transactions,
            )
        )
        for _ in range(rng.randint(1, 3)):
            spec.orders.append(_synthetic_order(rng, f"ORD-{order_number}", now))
            order_number += 1
        specs.append(spec)
    return specs


def seed(session: Session, now: datetime | None = None) -> SeedSummary:
    """Insert whatever demo rows are missing; existing rows are left untouched."""
    now = now or utcnow()
    specs = demo_customers(now) + synthetic_customers(now, random.Random(RANDOM_SEED))

    emails = [spec.email for spec in specs]
    customers = {
        customer.email: customer
        for customer in session.scalars(
            select(Customer).where(Customer.email.in_(emails))
        )
    }
    account_numbers = [account.number for spec in specs for account in spec.accounts]
    known_accounts = set(
        session.scalars(
            select(Account.number).where(Account.number.in_(account_numbers))
        )
    )
    order_numbers = [order.number for spec in specs for order in spec.orders]
    known_orders = set(
        session.scalars(select(Order.number).where(Order.number.in_(order_numbers)))
    )

    hashes: dict[str, str] = {}
    inserted = {"customers": 0, "accounts": 0, "orders": 0}
    for spec in specs:
        customer = customers.get(spec.email)
        if customer is None:
            if spec.passcode not in hashes:
                hashes[spec.passcode] = hash_passcode(spec.passcode)
            customer = Customer(
                name=spec.name, email=spec.email, passcode_hash=hashes[spec.passcode]
            )
            session.add(customer)
            inserted["customers"] += 1
        for account in spec.accounts:
            if account.number not in known_accounts:
                customer.accounts.append(account)
                inserted["accounts"] += 1
        for order in spec.orders:
            if order.number not in known_orders:
                customer.orders.append(order)
                inserted["orders"] += 1
    session.flush()
    inserted["articles"] = add_missing_articles(
        session,
        [a for folder in HELP_CENTERS for a in read_markdown_folder(folder)],
        actor="seed",
    )
    return SeedSummary(**inserted)
