"""action_order_followup: status, cancel, return and refund on the seeded orders."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.db.models import OrderStatus, Return, utcnow
from actions.formatting import day
from actions.orders import ActionOrderFollowup
from tests.actions.helpers import (
    ALICE,
    BOB,
    audit_rows,
    count,
    make_tracker,
    order_status,
    rendered,
)


async def follow_up(domain: dict[str, Any], **slots: Any) -> list[str]:
    """Run the follow-up with ``slots`` as left by the form; the texts it sends
    (in the ``language`` slot's language)."""
    dispatcher = CollectingDispatcher()
    events = await ActionOrderFollowup().run(dispatcher, make_tracker(slots), domain)
    assert events == []
    return rendered(dispatcher, domain, slots.get("language", "en"))


async def test_status_of_alices_shipped_order(
    domain: dict[str, Any], db_url: str
) -> None:
    [text] = await follow_up(
        domain, order_task="status", order_id="ORD-1001", email=ALICE
    )
    expected = day(utcnow().date() + timedelta(days=2))  # as seeded
    assert text == (
        "Order ORD-1001 is on its way with UPS.\n"
        "Tracking number: 1Z999AA10123456784\n"
        f"Expected delivery: {expected}\n"
        "Items: Wireless headphones\n"
        "Total: $89.99"
    )


async def test_status_in_chinese_has_chinese_dates_and_amounts(
    domain: dict[str, Any], db_url: str
) -> None:
    [text] = await follow_up(
        domain, order_task="status", order_id="ORD-1001", email=ALICE, language="zh"
    )
    expected = day(utcnow().date() + timedelta(days=2), language="zh")
    assert "ORD-1001" in text and "UPS" in text and "1Z999AA10123456784" in text
    assert expected in text and "89.99 美元" in text
    assert re.fullmatch(r"(\d{4}年)?\d{1,2}月\d{1,2}日（周[一二三四五六日]）", expected)


@pytest.mark.parametrize(
    ("order_id", "opening"),
    [
        ("ORD-1002", "Order ORD-1002 is being prepared and hasn't shipped yet."),
        ("ORD-1003", "Order ORD-1003 was delivered on "),
    ],
)
async def test_status_of_other_orders(
    order_id: str, opening: str, domain: dict[str, Any], db_url: str
) -> None:
    [text] = await follow_up(
        domain, order_task="status", order_id=order_id, email=ALICE
    )
    assert text.startswith(opening)


async def test_ownership_is_checked_again_before_showing_anything(
    domain: dict[str, Any], db_url: str
) -> None:
    """Even if the slots were tampered with, Bob's order is not shown to Alice."""
    texts = await follow_up(
        domain, order_task="status", order_id="ORD-2001", email=ALICE
    )
    assert texts == [
        "I couldn't find an order with that number for that email address."
    ]


async def test_confirmed_cancel_cancels_once(
    domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    slots = {
        "order_task": "cancel",
        "order_id": "ORD-1002",
        "email": ALICE,
        "cancel_confirmed": True,
    }
    assert await follow_up(domain, **slots) == [
        "Done: order ORD-1002 is cancelled and won't be shipped."
    ]
    assert order_status(engine, "ORD-1002") is OrderStatus.CANCELLED
    assert len(audit_rows(engine, "cancel_order")) == 1

    assert await follow_up(domain, **slots) == [
        "Order ORD-1002 is already cancelled, so there's nothing more to do."
    ]
    assert len(audit_rows(engine, "cancel_order")) == 1  # no second write


@pytest.mark.parametrize("answer", [False, None])
async def test_unconfirmed_cancel_keeps_the_order(
    answer: bool | None, domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    slots = {
        "order_task": "cancel",
        "order_id": "ORD-1002",
        "email": ALICE,
        "cancel_confirmed": answer,
    }
    assert await follow_up(domain, **slots) == [
        "Okay, I haven't cancelled order ORD-1002."
    ]
    assert order_status(engine, "ORD-1002") is OrderStatus.PROCESSING


async def test_shipped_order_cannot_be_cancelled(
    domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    slots = {
        "order_task": "cancel",
        "order_id": "ORD-1001",
        "email": ALICE,
        "cancel_confirmed": True,
    }
    assert await follow_up(domain, **slots) == [
        "Order ORD-1001 has already shipped, so I can't cancel it. "
        "Once it arrives, you can return it within 30 days."
    ]
    assert order_status(engine, "ORD-1001") is OrderStatus.SHIPPED
    assert audit_rows(engine, "cancel_order") == []


async def test_return_opens_an_rma_once(
    domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    slots = {
        "order_task": "return",
        "order_id": "ORD-1003",
        "email": ALICE,
        "return_reason": "too loud",
    }
    [text] = await follow_up(domain, **slots)
    assert text.startswith(
        "Your return for order ORD-1003 is open. Return number: RMA-"
    )
    assert "we'll refund $45.50 to your original payment method, expected by " in text
    rma = text.split("Return number: ")[1].split(".")[0]

    assert await follow_up(domain, **slots) == [
        f"There's already a return for order ORD-1003: return number {rma}. "
        "You can ask me about its refund at any time."
    ]
    assert count(engine, Return) == 1


async def test_return_window_passed(
    domain: dict[str, Any], db_url: str, engine: Engine
) -> None:
    [text] = await follow_up(
        domain, order_task="return", order_id="ORD-2001", email=BOB
    )
    assert text.startswith("The 30-day return window for order ORD-2001 ended on ")
    assert count(engine, Return) == 0


async def test_undelivered_order_cannot_be_returned(
    domain: dict[str, Any], db_url: str
) -> None:
    texts = await follow_up(
        domain, order_task="return", order_id="ORD-1001", email=ALICE
    )
    assert texts == [
        "Order ORD-1001 hasn't been delivered yet, so it can't be returned. "
        "If it hasn't shipped, I can cancel it instead."
    ]


async def test_refund_status_before_and_after_a_return(
    domain: dict[str, Any], db_url: str
) -> None:
    refund = {"order_task": "refund", "order_id": "ORD-1003", "email": ALICE}
    assert await follow_up(domain, **refund) == [
        "There's no refund for order ORD-1003. "
        "A refund starts once a return has been opened."
    ]
    await follow_up(
        domain, **{**refund, "order_task": "return", "return_reason": "too loud"}
    )
    [text] = await follow_up(domain, **refund)
    assert text.startswith("The refund of $45.50 for order ORD-1003 (return RMA-")
    assert "is on its way, expected by " in text


async def test_nothing_to_say_when_the_form_ended_without_a_task(
    domain: dict[str, Any], db_url: str
) -> None:
    assert (
        await follow_up(domain, order_task=None, order_id="ORD-1001", email=ALICE) == []
    )
    assert (
        await follow_up(domain, order_task="status", order_id=None, email=ALICE) == []
    )
