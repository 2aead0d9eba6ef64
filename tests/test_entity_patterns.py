"""The order number and email patterns of data/nlu.yml, as Rasa's
RegexEntityExtractor applies them: also inside Chinese text, where \\b finds no
boundary (Chinese characters are word characters)."""

from __future__ import annotations

import pytest
from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> RegexEntityExtractor:
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    storage = LocalModelStorage(tmp_path_factory.mktemp("regex"))
    config = {**RegexEntityExtractor.get_default_config(), "case_sensitive": False}
    component = RegexEntityExtractor.create(config, storage, Resource("regex"), None)
    component.train(load_data(str(REPO_ROOT / "data" / "nlu.yml")))
    return component


def found(extractor: RegexEntityExtractor, text: str) -> list[tuple[str, str]]:
    message = Message({"text": text})
    extractor.process([message])
    return [(e["entity"], e["value"]) for e in message.get("entities", [])]


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("where is ORD-1001?", [("order_id", "ORD-1001")]),
        ("我的订单ORD-1001到哪了", [("order_id", "ORD-1001")]),
        ("订单号ord1002，邮箱alice@example.com谢谢",
         [("order_id", "ord1002"), ("email", "alice@example.com")]),
        ("我的邮箱是bob@example.com。", [("email", "bob@example.com")]),
        ("WORD-12345 is not an order", []),  # a longer word ending in ORD
        ("ORD-1001234567 has too many digits", []),
    ],
)  # fmt: skip
def test_ids_and_emails_are_found_in_english_and_chinese(
    extractor: RegexEntityExtractor, text: str, entities: list[tuple[str, str]]
) -> None:
    assert sorted(found(extractor, text)) == sorted(entities)
