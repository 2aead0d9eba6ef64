"""Turn database values into short plain text for customers (no Markdown)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from actions.db.models import Order, OrderItem, Transaction

# Orders carry no currency column; the shop sells in US dollars.
ORDER_CURRENCY = "USD"
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Reply:
    """A response name from the domain and the values for its placeholders.

    Wording lives in domain.yml; this module only formats the values.
    """

    response: str
    values: dict[str, str] = field(default_factory=dict)


def money(amount: Decimal, currency: str = ORDER_CURRENCY) -> str:
    """``Decimal("-1234.5")`` -> ``-$1,234.50``; unknown currencies keep their code."""
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount).quantize(TWO_PLACES):,}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def day(value: date | datetime, today: date | None = None) -> str:
    """``Tue 25 Nov``; the year is added only when it is not the current one."""
    if isinstance(value, datetime):
        value = value.date()
    today = today or date.today()
    text = f"{value:%a} {value.day} {value:%b}"
    return text if value.year == today.year else f"{text} {value.year}"


def items(order_items: Iterable[OrderItem]) -> str:
    """``Running shoes, 2 x Sport socks (3-pack)``."""
    return ", ".join(
        item.name if item.quantity == 1 else f"{item.quantity} x {item.name}"
        for item in order_items
    )


def order_line(order: Order) -> str:
    """One order in a list: number, date, status, total and items."""
    return (
        f"{order.number} ({day(order.created_at)}): {order.status.value}, "
        f"{money(order.total)} - {items(order.items)}"
    )


def transaction_line(transaction: Transaction, currency: str) -> str:
    """One statement line: date, description, signed amount."""
    return (
        f"{day(transaction.posted_at)}  {transaction.description}  "
        f"{money(transaction.amount, currency)}"
    )


def account_label(number: str) -> str:
    """Show only the end of an account number, as statements do."""
    return f"ending {number[-4:]}"


def order_details(order: Order) -> dict[str, str]:
    """Template variables describing one order, for the status responses."""
    return {
        "order_id": order.number,
        "items": items(order.items),
        "total": money(order.total),
        "carrier": order.carrier or "our carrier",
        "tracking_number": order.tracking_number or "not available yet",
        "expected_delivery": (
            day(order.expected_delivery)
            if order.expected_delivery
            else "to be confirmed"
        ),
        "delivered_on": day(order.delivered_at) if order.delivered_at else "recently",
    }
