"""Turn database values into short plain text for customers (no Markdown).

Each value is written for the conversation's language (the ``language`` slot,
``en`` or ``zh``): ``Tue 25 Nov`` and ``$1,234.50`` in English, ``11月25日（周二）``
and ``1,234.50 美元`` in Chinese, as a Chinese reader expects them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from actions.db.models import Order, OrderItem, Transaction

# Orders carry no currency column; the shop sells in US dollars.
ORDER_CURRENCY = "USD"
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
CURRENCY_NAMES_ZH = {"USD": "美元", "EUR": "欧元", "GBP": "英镑", "CNY": "元"}
TWO_PLACES = Decimal("0.01")
ENGLISH, CHINESE = "en", "zh"
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
STATUS_ZH = {
    "processing": "处理中",
    "shipped": "已发货",
    "delivered": "已送达",
    "cancelled": "已取消",
}
# What an order's details say where a value is missing.
NOT_KNOWN = {
    ENGLISH: {
        "carrier": "our carrier",
        "tracking_number": "not available yet",
        "expected_delivery": "to be confirmed",
        "delivered_on": "recently",
    },
    CHINESE: {
        "carrier": "物流公司",
        "tracking_number": "暂未生成",
        "expected_delivery": "待确认",
        "delivered_on": "近日",
    },
}


@dataclass(frozen=True)
class Reply:
    """A response name from the domain and the values for its placeholders.

    Wording lives in domain.yml; this module only formats the values.
    """

    response: str
    values: dict[str, str] = field(default_factory=dict)


def money(
    amount: Decimal, currency: str = ORDER_CURRENCY, language: str = ENGLISH
) -> str:
    """``Decimal("-1234.5")`` -> ``-$1,234.50`` (``-1,234.50 美元`` in Chinese);
    unknown currencies keep their code."""
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount).quantize(TWO_PLACES):,}"
    if language == CHINESE:
        return f"{sign}{digits} {CURRENCY_NAMES_ZH.get(currency, currency)}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def day(
    value: date | datetime, today: date | None = None, language: str = ENGLISH
) -> str:
    """``Tue 25 Nov`` (``11月25日（周二）``); the year is added only when it is
    not the current one."""
    if isinstance(value, datetime):
        value = value.date()
    today = today or date.today()
    if language == CHINESE:
        text = f"{value.month}月{value.day}日（{WEEKDAYS_ZH[value.weekday()]}）"
        return text if value.year == today.year else f"{value.year}年{text}"
    text = f"{value:%a} {value.day} {value:%b}"
    return text if value.year == today.year else f"{text} {value.year}"


def items(order_items: Iterable[OrderItem], language: str = ENGLISH) -> str:
    """``Running shoes, 2 x Sport socks (3-pack)`` (``Sport socks (3-pack) × 2``)."""
    if language == CHINESE:
        return "、".join(_counted(item, "{name} × {quantity}") for item in order_items)
    return ", ".join(_counted(item, "{quantity} x {name}") for item in order_items)


def _counted(item: OrderItem, pattern: str) -> str:
    if item.quantity == 1:
        return item.name
    return pattern.format(name=item.name, quantity=item.quantity)


def order_line(order: Order, language: str = ENGLISH) -> str:
    """One order in a list: number, date, status, total and items."""
    when = day(order.created_at, language=language)
    total = money(order.total, language=language)
    if language == CHINESE:
        status = STATUS_ZH.get(order.status.value, order.status.value)
        listed = items(order.items, language)
        return f"{order.number}（{when}）：{status}，{total}，{listed}"
    return (
        f"{order.number} ({when}): {order.status.value}, {total} - {items(order.items)}"
    )


def transaction_line(
    transaction: Transaction, currency: str, language: str = ENGLISH
) -> str:
    """One statement line: date, description, signed amount."""
    return (
        f"{day(transaction.posted_at, language=language)}  {transaction.description}  "
        f"{money(transaction.amount, currency, language)}"
    )


def account_label(number: str, language: str = ENGLISH) -> str:
    """Show only the end of an account number, as statements do."""
    return f"尾号 {number[-4:]}" if language == CHINESE else f"ending {number[-4:]}"


def order_details(order: Order, language: str = ENGLISH) -> dict[str, str]:
    """Template variables describing one order, for the status responses."""
    missing = NOT_KNOWN.get(language, NOT_KNOWN[ENGLISH])
    return {
        "order_id": order.number,
        "items": items(order.items, language),
        "total": money(order.total, language=language),
        "carrier": order.carrier or missing["carrier"],
        "tracking_number": order.tracking_number or missing["tracking_number"],
        "expected_delivery": (
            day(order.expected_delivery, language=language)
            if order.expected_delivery
            else missing["expected_delivery"]
        ),
        "delivered_on": (
            day(order.delivered_at, language=language)
            if order.delivered_at
            else missing["delivered_on"]
        ),
    }


def language_of(tracker) -> str:
    """The conversation's language, from the ``language`` slot (English if unset)."""
    return CHINESE if tracker.get_slot("language") == CHINESE else ENGLISH
