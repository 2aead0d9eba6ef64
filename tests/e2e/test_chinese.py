"""Chinese customers over HTTP, against the real Rasa server and action server:
understood by the Chinese encoder, answered in Chinese, in every flow.

The servers and the database come from tests/e2e/conftest.py; the upset
customer's ticket in Chinese is in test_handoff.py, beside the English one.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from actions.db.models import CsatRating, KbAnswer, Order, Return
from tests.e2e.conftest import Chat, stored, texts

pytestmark = pytest.mark.e2e

HAN = re.compile("[\u4e00-\u9fff]")


def test_order_status_in_chinese_after_verification(chat: Chat) -> None:
    asked = texts(chat("我的订单ORD-1001到哪了？"))
    assert "邮箱" in asked
    reply = texts(chat("alice@example.com"))
    assert "订单ORD-1001已由UPS发出，正在配送中。" in reply
    assert "运单号：1Z999AA10123456784" in reply
    assert "合计：89.99 美元" in reply
    assert "Order" not in reply  # nothing in English


def test_a_wrong_email_shows_nothing_in_chinese_either(chat: Chat) -> None:
    chat("ORD-2001这个订单到哪了")
    reply = texts(chat("alice@example.com"))
    assert "没有找到与该邮箱地址对应的这个订单号" in reply
    assert "USPS" not in reply


def test_a_return_in_chinese_stores_the_chinese_reason(
    chat: Chat, database_url: str
) -> None:
    assert "邮箱" in texts(chat("我要退货 订单号ORD-1003"))
    assert "请问订单ORD-1003的退货原因是什么" in texts(chat("alice@example.com"))
    reply = texts(chat("尺码买小了 穿不进去"))
    assert "订单ORD-1003的退货申请已提交" in reply
    query = select(Return.reason).join(Order).where(Order.number == "ORD-1003")
    assert stored(database_url, query) == ["尺码买小了 穿不进去"]


def test_a_help_center_question_in_chinese_gets_the_chinese_article(
    chat: Chat, database_url: str
) -> None:
    reply = texts(chat("礼品卡放了好几年了还能用吗"))
    assert reply.startswith("礼品卡会过期吗？\n")
    assert "这个回答解决您的问题了吗" in reply
    query = select(KbAnswer.article_slug).where(KbAnswer.conversation_id == chat.sender)
    assert stored(database_url, query) == ["gift-card-expiry-zh"]


def test_mixed_chinese_and_english_is_understood(chat: Chat) -> None:
    """Chinese with English words and an order number: the Chinese encoder
    reads it, the order number is found, the reply is Chinese."""
    reply = texts(chat("我想check一下order ORD-1001的status"))
    assert "邮箱" in reply
    assert "ORD-1001" in texts(chat("alice@example.com"))


def test_switching_language_mid_conversation_keeps_the_task(
    chat: Chat, database_url: str
) -> None:
    """Asked in English, the email given, then a rating in Chinese: every
    reply follows the message before it."""
    assert "email address" in texts(chat("where is my order ORD-1001?"))
    assert "is on its way" in texts(chat("alice@example.com"))
    *_, question = chat("太好了，谢谢！")
    assert question["text"].startswith("如果方便的话，请为本次服务打个分吧")
    assert texts(chat('/rate{"rating": 4}')) == "感谢您的评价！"
    ratings = stored(
        database_url,
        select(CsatRating.rating).where(CsatRating.conversation_id == chat.sender),
    )
    assert ratings == [4]
    english = texts(chat("thanks, bye"))
    assert english and not HAN.search(english)
