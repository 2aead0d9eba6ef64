"""Whole conversations over HTTP against the real Rasa server and action server.

The servers and the database come from tests/e2e/conftest.py.
"""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from actions.db.models import CsatRating, Order, OrderStatus, Return
from tests.e2e.conftest import Chat, stored, texts

pytestmark = pytest.mark.e2e


def order_status(database_url: str, number: str) -> OrderStatus:
    [status] = stored(database_url, select(Order.status).where(Order.number == number))
    return status


def test_alice_checks_her_order_status(chat: Chat) -> None:
    assert "email address" in texts(chat("where is my order ORD-1001?"))
    reply = texts(chat("alice@example.com"))
    assert "Order ORD-1001 is on its way with UPS." in reply
    assert "Tracking number: 1Z999AA10123456784" in reply
    assert "Total: $89.99" in reply


def test_alice_cancels_an_order_after_confirming(chat: Chat, database_url: str) -> None:
    assert "email address" in texts(chat("please cancel order ORD-1002"))
    [question] = chat("alice@example.com")
    assert question["text"] == (
        "Cancel order ORD-1002? Items: Running shoes, 2 x Sport socks (3-pack). "
        "Total: $145.00."
    )
    assert [button["payload"] for button in question["buttons"]] == ["/affirm", "/deny"]
    assert order_status(database_url, "ORD-1002") is OrderStatus.PROCESSING

    assert (
        texts(chat("/affirm"))
        == "Done: order ORD-1002 is cancelled and won't be shipped."
    )
    assert order_status(database_url, "ORD-1002") is OrderStatus.CANCELLED


def test_alice_cannot_see_bobs_order(chat: Chat) -> None:
    chat("where is my order ORD-2001?")
    reply = texts(chat("alice@example.com"))
    assert "I couldn't find an order with that number for that email address." in reply
    assert "What's your order number?" in reply
    assert "ORD-2001" not in reply and "USPS" not in reply


def ratings(database_url: str) -> list[tuple[str, int]]:
    rows = stored(database_url, select(CsatRating).order_by(CsatRating.id))
    return [(row.conversation_id, row.rating) for row in rows]


def test_alice_rates_the_chat_once_her_question_is_answered(
    chat: Chat, database_url: str
) -> None:
    chat("where is my order ORD-1001?")
    assert "is on its way" in texts(chat("alice@example.com"))
    *_, question = chat("great, thanks!")
    assert question["text"].startswith("If you have a moment: how would you rate")
    assert [button["payload"] for button in question["buttons"]] == [
        f'/rate{{"rating": {value}}}' for value in range(1, 6)
    ]
    assert texts(chat('/rate{"rating": 5}')) == "Thank you for your feedback!"
    [(conversation_id, rating)] = ratings(database_url)
    assert conversation_id.startswith("e2e-") and rating == 5


def return_reasons(database_url: str, number: str) -> list[str]:
    query = select(Return.reason).join(Order).where(Order.number == number)
    return stored(database_url, query)


def test_a_return_reason_that_sounds_like_stop_is_the_reason(
    chat: Chat, database_url: str
) -> None:
    assert "email address" in texts(chat("i want to return ORD-1003"))
    assert "Why are you returning order ORD-1003?" in texts(chat("alice@example.com"))
    # A real stop ends the form, and nothing is returned.
    assert "Okay, I've stopped that." in texts(chat("stop"))
    assert return_reasons(database_url, "ORD-1003") == []

    assert "Why are you returning order ORD-1003?" in texts(
        chat("actually i do want to return ORD-1003")
    )
    reply = texts(chat("changed my mind"))
    assert "Your return for order ORD-1003 is open." in reply
    assert return_reasons(database_url, "ORD-1003") == ["changed my mind"]


HAN = re.compile("[\u4e00-\u9fff]")


def tracker_of(rasa_url: str, sender: str) -> dict:
    response = requests.get(f"{rasa_url}/conversations/{sender}/tracker", timeout=30)
    response.raise_for_status()
    return response.json()


def test_each_reply_follows_the_language_of_the_message(
    chat: Chat, rasa_url: str
) -> None:
    """Chinese gets Chinese, English English, in one conversation; an order
    number inside Chinese text is found; hostile Chinese input gets an answer."""
    assert HAN.search(texts(chat("你好")))
    english = texts(chat("hello"))
    assert english and not HAN.search(english)
    assert HAN.search(texts(chat("我的订单ORD-1001到哪了？")))
    tracker = tracker_of(rasa_url, chat.sender)
    entities = tracker["latest_message"]["entities"]
    assert ("order_id", "ORD-1001") in [(e["entity"], e["value"]) for e in entities]
    assert tracker["slots"]["language"] == "zh"
    assert HAN.search(texts(chat("ORD-1001")))  # no words: still Chinese
    # Long (the REST channel refuses over 5,000 characters, and NUL), emoji,
    # control characters.
    hostile = texts(chat("退款！" * 1600 + "😡😡\x07\x1b[31m\u202e"))
    assert HAN.search(hostile)
