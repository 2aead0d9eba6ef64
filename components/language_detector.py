"""Rasa graph component: the language a message is written in, for the replies.

It emits a ``language`` entity (``zh`` or ``en``) on every message that has
words in it. The ``language`` slot maps from it, so the slot follows the
customer's latest message, and Rasa's conditional response variations answer
in that language (domain.yml). A message with no words (an order number, "3",
an emoji, a button tap, which skips the NLU) names no language, and the slot
keeps the last one.

Two languages need no model: Chinese is written in Han characters and English
in Latin letters. A message is Chinese when it has more Han characters than
English words, after order numbers, emails and links are taken
out: "我的订单ORD-1001到哪了" is Chinese, "where is ORD-1001, 谢谢" English, and
"我想return这个item" Chinese. A Han character stands for about one English
word, so the count compares like with like.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

LANGUAGE = "language"
CHINESE, ENGLISH = "zh", "en"
# Order numbers, emails and links are written in Latin letters in any language.
_NOT_WORDS = re.compile(
    r"[A-Za-z]{3}-?\d+|[\w.%+-]+@[\w.-]+\.[A-Za-z]{2,}|https?://\S+", re.ASCII
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ENGLISH_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def detect(text: str) -> str | None:
    """``zh``, ``en``, or None for a message with no words in it."""
    text = _NOT_WORDS.sub(" ", text or "")
    han = len(_HAN.findall(text))
    words = len(_ENGLISH_WORD.findall(text))
    if not han and not words:
        return None
    return CHINESE if han > words else ENGLISH


def language_of(parse_data: dict[str, Any]) -> str | None:
    """The language this component wrote into a parse result, None if none."""
    for entity in parse_data.get(ENTITIES) or ():
        if entity.get(ENTITY_ATTRIBUTE_TYPE) == LANGUAGE:
            return entity.get(ENTITY_ATTRIBUTE_VALUE)
    return None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class LanguageDetector(GraphComponent):
    """Adds a ``language`` entity to each message that names a language."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            language = detect(text)
            if language is None:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANGUAGE,
                ENTITY_ATTRIBUTE_VALUE: language,
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: len(text),
                EXTRACTOR: self.__class__.__name__,
            }
            entities = [*message.get(ENTITIES, []), entity]
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
