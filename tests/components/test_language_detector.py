"""components/language_detector.py: which language each message is written in."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from components.language_detector import LanguageDetector, detect, language_of


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("where is my order?", "en"),
        ("我的订单什么时候到", "zh"),
        ("我的订单ORD-1001到哪了？", "zh"),  # the order number is no English
        ("我的邮箱是alice@example.com", "zh"),
        ("我想return这个item", "zh"),  # Chinese with English words in it
        ("where is ORD-1001, 谢谢", "en"),  # English with a Chinese thank-you
        ("好", "zh"),
        ("ok", "en"),
        ("退款！！！😡", "zh"),
    ],
)
def test_the_language_of_a_message(text: str, language: str) -> None:
    assert detect(text) == language


@pytest.mark.parametrize("text", ["", "3", "ORD-1001", "alice@example.com", "👍", "?!"])
def test_a_message_without_words_names_no_language(text: str) -> None:
    assert detect(text) is None


def test_each_message_with_words_gets_a_language_entity() -> None:
    detector = LanguageDetector.create({}, None, None, None)
    chinese, number = Message({"text": "我要退货"}), Message({"text": "ORD-1003"})
    english = Message({"text": "cancel it", "entities": [{"entity": "order_id"}]})
    detector.process([chinese, number, english])
    assert chinese.get("entities") == [
        {"entity": "language", "value": "zh", "start": 0, "end": 4,
         "extractor": "LanguageDetector"},
    ]  # fmt: skip
    assert number.get("entities", []) == []  # the slot keeps the last language
    assert [e["entity"] for e in english.get("entities")] == ["order_id", "language"]


def test_the_language_is_read_back_from_a_parse_result() -> None:
    detector = LanguageDetector.create({}, None, None, None)
    chinese, number = Message({"text": "我要退货"}), Message({"text": "ORD-1003"})
    detector.process([chinese, number])
    assert language_of(chinese.as_dict()) == "zh"
    assert language_of(number.as_dict()) is None
    assert language_of({"entities": None}) is None
