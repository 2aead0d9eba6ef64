"""Unit tests of the BERT intent + sentiment component on tiny data (1-2 epochs)."""

from __future__ import annotations

import csv
import logging
import re
import shutil
from pathlib import Path

import pytest
import torch
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import base_models
from components.checked_int8_model import CheckedInt8Model, top_two_margin
from components.intent_sentiment_classifier import (
    TORCH_DEFAULT_THREADS,
    BertIntentSentimentClassifier,
)
from components.onnx_model import ONNX_FILE, OnnxIntentSentimentModel

GREETINGS = ["hi", "hello there", "good morning", "hey", "hiya friend", "howdy"]
ORDERS = [
    "where is my order",
    "track my package",
    "has my parcel shipped",
    "when does my delivery arrive",
    "order status please",
    "where is ORD-1001",
]
SENTIMENT_ROWS = [
    ("this is terrible, I am furious", "negative"),
    ("worst service ever", "negative"),
    ("you people are useless", "negative"),
    ("where is my order", "neutral"),
    ("my email is a@b.com", "neutral"),
    ("what are your hours", "neutral"),
    ("thank you so much, brilliant", "positive"),
    ("you are awesome", "positive"),
    ("great job, really happy", "positive"),
]
BAD_INPUTS = [
    "",
    "   \t\n ",
    "x" * 20_000,
    "😡😡😡 🙏",
    "где мой заказ",
    "我的订单在哪里",
    "hello\x00\x07\x1b[31m world\r\n",
    "ORD-1001'; DROP TABLE orders;--",
]


def training_data(intents: dict[str, list[str]]) -> TrainingData:
    return TrainingData(
        [
            Message(data={"text": text, "intent": intent})
            for intent, texts in intents.items()
            for text in texts
        ]
    )


def write_sentiment_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def train_component(
    storage_dir: Path, config: dict, data: TrainingData
) -> tuple[LocalModelStorage, Resource]:
    storage_dir.mkdir(parents=True, exist_ok=True)
    storage = LocalModelStorage(storage_dir)
    resource = Resource("bert_intent_sentiment")
    context = ExecutionContext(GraphSchema({}), "test-model")
    component = BertIntentSentimentClassifier.create(
        {**BertIntentSentimentClassifier.get_default_config(), **config},
        storage,
        resource,
        context,
    )
    component.train(data)
    return storage, resource


def load_component(
    storage: LocalModelStorage, resource: Resource, config: dict
) -> BertIntentSentimentClassifier:
    return BertIntentSentimentClassifier.load(
        {**BertIntentSentimentClassifier.get_default_config(), **config},
        storage,
        resource,
        ExecutionContext(GraphSchema({}), "test-model"),
    )


def parse(component: BertIntentSentimentClassifier, text: str) -> Message:
    message = Message(data={"text": text})
    component.process([message])
    return message


TINY_CONFIG = {"epochs": 2, "batch_size": 4, "validation_split": 0.0, "random_seed": 7}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[LocalModelStorage, Resource, dict]:
    """One small training with sentiment, shared by the tests that only read it."""
    tmp = tmp_path_factory.mktemp("bert")
    sentiment = write_sentiment_csv(tmp / "sentiment.csv", SENTIMENT_ROWS)
    config = {
        **TINY_CONFIG,
        "epochs": 8,
        "learning_rate": 1e-4,
        "sentiment_data": str(sentiment),
    }
    storage, resource = train_component(
        tmp / "storage", config, training_data({"greet": GREETINGS, "order": ORDERS})
    )
    return storage, resource, config


def test_parse_output_has_intent_ranking_and_sentiment(trained) -> None:
    storage, resource, config = trained
    component = load_component(storage, resource, config)
    message = parse(component, "hello there")

    intent = message.get("intent")
    ranking = message.get("intent_ranking")
    assert intent["name"] in {"greet", "order"}
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert {r["name"] for r in ranking} == {"greet", "order"}
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert ranking[0] == intent

    sentiment = message.get("sentiment")
    assert sentiment["label"] in {"negative", "neutral", "positive"}
    assert 1 / 3 <= sentiment["confidence"] <= 1.0
    entities = [e for e in message.get("entities") if e["entity"] == "sentiment"]
    assert len(entities) == 1
    assert entities[0]["value"] == sentiment["label"]
    assert "sentiment" in message.output_properties


def test_training_learns_the_tiny_data_set(trained) -> None:
    storage, resource, config = trained
    component = load_component(storage, resource, config)
    assert parse(component, "hello").get("intent")["name"] == "greet"
    assert parse(component, "where is my package").get("intent")["name"] == "order"


@pytest.mark.parametrize("text", BAD_INPUTS, ids=range(len(BAD_INPUTS)))
def test_bad_input_always_gets_an_answer(trained, text: str) -> None:
    storage, resource, config = trained
    component = load_component(storage, resource, config)
    message = parse(component, text)
    assert message.get("intent")["name"] in {"greet", "order"}
    assert message.get("sentiment")["label"] in {"negative", "neutral", "positive"}


def test_messages_without_text_are_handled(trained) -> None:
    storage, resource, config = trained
    component = load_component(storage, resource, config)
    message = Message(data={})
    component.process([message])
    assert message.get("intent")["name"] in {"greet", "order"}


def test_without_sentiment_data_there_is_no_sentiment(tmp_path) -> None:
    storage, resource = train_component(
        tmp_path,
        {**TINY_CONFIG, "epochs": 1},
        training_data({"a": GREETINGS, "b": ORDERS}),
    )
    for precision in ("onnx-int8", "float32"):
        component = load_component(
            storage, resource, {"inference_precision": precision}
        )
        message = parse(component, "hello")
        assert message.get("sentiment") is None
        entities = message.get("entities", [])
        assert not [e for e in entities if e["entity"] == "sentiment"]
        assert component.model.labels.sentiments is None


def test_many_intents_and_class_imbalance(tmp_path) -> None:
    """150 intents, one of them with 20 times the examples of the others."""
    intents = {
        f"intent_{i:03d}": [f"request number {i} variant {j}" for j in range(2)]
        for i in range(150)
    }
    intents["intent_000"] = [f"big class example {j}" for j in range(40)]
    storage, resource = train_component(
        tmp_path, {**TINY_CONFIG, "epochs": 1, "batch_size": 32}, training_data(intents)
    )
    component = load_component(storage, resource, {})
    ranking = parse(component, "request number 7").get("intent_ranking")
    assert len(ranking) == 10
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert len(component.model.labels.intents) == 150


def test_same_seed_same_model(tmp_path) -> None:
    data = training_data({"greet": GREETINGS, "order": ORDERS})
    runs = []
    for name in ("first", "second"):
        storage, resource = train_component(tmp_path / name, TINY_CONFIG, data)
        message = parse(load_component(storage, resource, {}), "hi, where is my order")
        runs.append(message.get("intent_ranking"))
    assert runs[0][0]["name"] == runs[1][0]["name"]
    assert runs[0][0]["confidence"] == pytest.approx(runs[1][0]["confidence"], abs=1e-6)


def _finetuning(storage, resource, config: dict) -> BertIntentSentimentClassifier:
    """The component as `rasa train --finetune` loads it, then trains it."""
    return BertIntentSentimentClassifier.load(
        {**BertIntentSentimentClassifier.get_default_config(), **config},
        storage,
        resource,
        ExecutionContext(GraphSchema({}), "test-model", is_finetuning=True),
    )


def test_finetuning_starts_from_the_previous_weights_while_the_labels_stay(
    tmp_path,
) -> None:
    data = training_data({"greet": GREETINGS, "order": ORDERS})
    storage, resource = train_component(tmp_path / "live", TINY_CONFIG, data)
    text = "hi, where is my order"
    before = parse(load_component(storage, resource, {}), text).get("intent_ranking")
    # Not a step of learning: the result can only be the weights it started from.
    standing_still = {**TINY_CONFIG, "epochs": 1, "learning_rate": 0.0,
                      "head_learning_rate": 0.0, "weight_decay": 0.0}  # fmt: skip
    _finetuning(storage, resource, standing_still).train(data)
    after = parse(load_component(storage, resource, {}), text).get("intent_ranking")
    assert [r["name"] for r in after] == [r["name"] for r in before]
    assert [r["confidence"] for r in after] == pytest.approx(
        [r["confidence"] for r in before], abs=1e-4
    )


def test_finetuning_trains_on_every_core_the_loaded_model_answered_on_one(
    tmp_path,
) -> None:
    if TORCH_DEFAULT_THREADS == 1:
        pytest.skip("torch uses one thread here anyway")
    data = training_data({"greet": GREETINGS, "order": ORDERS})
    storage, resource = train_component(tmp_path / "live", TINY_CONFIG, data)
    component = _finetuning(storage, resource, {**TINY_CONFIG, "epochs": 1})
    assert torch.get_num_threads() == 1  # the answering model's inference_threads
    component.train(data)
    assert torch.get_num_threads() == TORCH_DEFAULT_THREADS


def test_finetuning_with_a_new_intent_trains_from_the_base_model(tmp_path) -> None:
    data = training_data({"greet": GREETINGS, "order": ORDERS})
    storage, resource = train_component(tmp_path / "live", TINY_CONFIG, data)
    goodbyes = ["bye", "see you", "goodbye now", "cya"]
    more = training_data({"greet": GREETINGS, "order": ORDERS, "goodbye": goodbyes})
    _finetuning(storage, resource, TINY_CONFIG).train(more)
    component = load_component(storage, resource, {})
    assert component.model.labels.intents == ["goodbye", "greet", "order"]


def test_archive_is_self_contained(tmp_path) -> None:
    """Trained from a copy of the base model that is deleted before loading."""
    base_copy = tmp_path / "base"
    shutil.copytree(base_models.packaged_minilm(), base_copy)
    data = training_data({"greet": GREETINGS, "order": ORDERS})
    storage, resource = train_component(
        tmp_path / "storage",
        {**TINY_CONFIG, "epochs": 1, "model_name_or_path": str(base_copy)},
        data,
    )
    shutil.rmtree(base_copy)
    component = load_component(
        storage, resource, {"model_name_or_path": str(base_copy)}
    )
    assert parse(component, "hello").get("intent")["name"] in {"greet", "order"}


@pytest.mark.parametrize(
    "precision, trace",
    [
        ("float32", True),
        ("bfloat16", False),
        ("bfloat16", True),
        ("int8", False),
        ("onnx-int8", False),
        ("onnx-int8-checked", False),
    ],
)
def test_inference_forms_agree_with_eager_float32(
    trained, precision: str, trace: bool
) -> None:
    storage, resource, config = trained
    full = load_component(
        storage,
        resource,
        {**config, "inference_precision": "float32", "jit_trace": False},
    )
    reduced = load_component(
        storage,
        resource,
        {**config, "inference_precision": precision, "jit_trace": trace},
    )
    confident = [
        text
        for text in GREETINGS + ORDERS
        if parse(full, text).get("intent")["confidence"] > 0.8
    ]
    assert confident, "the tiny model should be sure of some of its training texts"
    for text in confident:
        assert (
            parse(full, text).get("intent")["name"]
            == parse(reduced, text).get("intent")["name"]
        )


def test_traced_encoder_matches_eager_on_padded_batches(trained) -> None:
    """Batches of different lengths and sizes than the one the trace recorded."""
    storage, resource, config = trained
    settings = {**config, "inference_precision": "float32"}
    eager = load_component(storage, resource, {**settings, "jit_trace": False}).model
    traced = load_component(storage, resource, {**settings, "jit_trace": True}).model
    texts = ["hi", "where is my order ORD-1001 it was due last week", "ok", "x" * 300]
    for expected, actual in zip(eager.predict(texts), traced.predict(texts)):
        assert actual.intent_probabilities == pytest.approx(
            expected.intent_probabilities, abs=1e-4
        )
        assert actual.sentiment_probabilities == pytest.approx(
            expected.sentiment_probabilities, abs=1e-4
        )


def test_time_budget_stops_training_early(tmp_path, caplog) -> None:
    data = training_data({"greet": GREETINGS, "order": ORDERS})
    with caplog.at_level(logging.INFO, logger="components.training"):
        train_component(
            tmp_path, {**TINY_CONFIG, "epochs": 5, "max_train_minutes": 1e-6}, data
        )
    # Each epoch says how far along training is and how long it may still take.
    assert re.search(
        r"epoch 1/5 \(\d+ s so far, at most \d+ s more\): loss", caplog.text
    )
    assert "epoch 2/" not in caplog.text
    assert "would exceed" in caplog.text


def test_unknown_precision_is_a_config_error(tmp_path) -> None:
    with pytest.raises(InvalidConfigException, match="inference_precision"):
        train_component(
            tmp_path,
            {**TINY_CONFIG, "inference_precision": "float8"},
            training_data({"greet": GREETINGS, "order": ORDERS}),
        )


def test_fingerprint_follows_sentiment_file_content(tmp_path) -> None:
    path = write_sentiment_csv(tmp_path / "s.csv", SENTIMENT_ROWS)
    config = {"sentiment_data": str(path)}
    before = BertIntentSentimentClassifier.fingerprint_addon(config)
    assert BertIntentSentimentClassifier.fingerprint_addon(config) == before
    write_sentiment_csv(path, SENTIMENT_ROWS + [("lovely", "positive")])
    assert BertIntentSentimentClassifier.fingerprint_addon(config) != before
    assert (
        BertIntentSentimentClassifier.fingerprint_addon({"sentiment_data": None})
        is None
    )


def test_bad_sentiment_label_is_reported(tmp_path) -> None:
    path = write_sentiment_csv(tmp_path / "s.csv", [("meh", "grumpy")])
    with pytest.raises(ValueError, match="grumpy"):
        train_component(
            tmp_path / "storage",
            {**TINY_CONFIG, "sentiment_data": str(path)},
            training_data({"greet": GREETINGS, "order": ORDERS}),
        )


ZH_ROWS = [
    ("气死我了 什么破服务", "negative"),
    ("我的订单到哪了", "neutral"),
    ("太感谢了 服务真好", "positive"),
]


def test_a_bilingual_encoder_cut_to_its_first_layers_with_two_sentiment_files(
    tmp_path,
) -> None:
    """The bilingual configuration's options: multilingual-e5-small kept to its
    first layers, and one sentiment file per language, both read."""
    english = write_sentiment_csv(tmp_path / "en.csv", SENTIMENT_ROWS)
    chinese = write_sentiment_csv(tmp_path / "zh.csv", ZH_ROWS)
    config = {
        **TINY_CONFIG,
        "epochs": 1,
        "model_name_or_path": base_models.MULTILINGUAL_E5,
        "jit_trace": False,
        "encoder_layers": 2,
        "sentiment_data": [str(english), str(chinese)],
    }
    data = training_data(
        {
            "greet": [*GREETINGS, "你好", "在吗"],
            "order": [*ORDERS, "我的订单ORD-1001到哪了"],
        }
    )
    storage, resource = train_component(tmp_path / "storage", config, data)
    component = load_component(
        storage, resource, {**config, "inference_precision": "float32"}
    )
    assert component.model.encoder.config.num_hidden_layers == 2
    assert parse(component, "我的快递什么时候到").get("sentiment")["label"]
    before = BertIntentSentimentClassifier.fingerprint_addon(config)
    write_sentiment_csv(chinese, ZH_ROWS + [("很满意", "positive")])
    assert BertIntentSentimentClassifier.fingerprint_addon(config) != before


@pytest.mark.parametrize(
    ("key", "value"),
    [("encoder_layers", 0), ("near_tie_margin", 1.5), ("near_tie_margin", -0.1)],
)
def test_a_setting_out_of_range_is_refused(tmp_path, key: str, value: float) -> None:
    with pytest.raises(InvalidConfigException, match=key):
        train_component(
            tmp_path / "storage",
            {**TINY_CONFIG, key: value},
            training_data({"greet": GREETINGS, "order": ORDERS}),
        )


def test_the_onnx_graph_is_saved_with_the_model_and_answers_alike(trained) -> None:
    storage, resource, config = trained
    with storage.read_from(resource) as directory:
        assert (directory / ONNX_FILE).is_file()
    eager = load_component(
        storage, resource, {**config, "inference_precision": "float32"}
    ).model
    onnx = load_component(
        storage, resource, {**config, "inference_precision": "onnx-int8"}
    ).model
    assert isinstance(onnx, OnnxIntentSentimentModel)
    texts = ["hi", "where is my order ORD-1001 it was due last week", "ok", "x" * 300]
    for expected, actual in zip(eager.predict(texts), onnx.predict(texts)):
        # int8 weights (7 bits with reduce_range): close to float32, not equal;
        # on this tiny model a probability moves by up to about 0.05-0.08.
        assert actual.intent_probabilities == pytest.approx(
            expected.intent_probabilities, abs=0.1
        )
        assert actual.sentiment_probabilities == pytest.approx(
            expected.sentiment_probabilities, abs=0.1
        )


def test_int8_checked_asks_float32_exactly_where_two_intents_are_close(
    trained,
) -> None:
    storage, resource, config = trained
    texts = [*GREETINGS, *ORDERS, "ok", "hmm", "hello, where is my order?", "x" * 300]

    def model(precision: str, **settings: float):
        chosen = {**config, "inference_precision": precision, "jit_trace": False}
        return load_component(storage, resource, {**chosen, **settings}).model

    int8 = model("onnx-int8").predict(texts)
    float32 = model("float32").predict(texts)
    margins = [top_two_margin(p.intent_probabilities) for p in int8]
    median = sorted(margins)[len(margins) // 2]
    checked = model("onnx-int8-checked", near_tie_margin=median)
    assert isinstance(checked, CheckedInt8Model)
    assert isinstance(load_component(storage, resource, config).model, type(checked))
    rechecked = 0
    for margin, answer, fast, exact in zip(
        margins, checked.predict(texts), int8, float32
    ):
        expected = exact if margin < median else fast
        assert answer.intent_probabilities == pytest.approx(
            expected.intent_probabilities, abs=1e-5
        )
        assert answer.sentiment_probabilities == pytest.approx(
            expected.sentiment_probabilities, abs=1e-5
        )
        if margin < median and answer.intent_probabilities != pytest.approx(
            fast.intent_probabilities, abs=1e-3
        ):
            rechecked += 1
    assert rechecked, "float32 should have changed some of int8's close answers"


def test_a_model_saved_without_the_onnx_graph_answers_with_pytorch(
    trained, tmp_path, caplog
) -> None:
    storage, resource, config = trained
    with storage.read_from(resource) as directory:
        shutil.copytree(directory, tmp_path / "saved")
    (tmp_path / "saved" / ONNX_FILE).unlink()
    (tmp_path / "older").mkdir()
    older = LocalModelStorage(tmp_path / "older")
    with older.write_to(resource) as directory:
        shutil.copytree(tmp_path / "saved", directory, dirs_exist_ok=True)
    with caplog.at_level(logging.WARNING):
        component = load_component(older, resource, config)
    assert "without its ONNX graph" in caplog.text
    assert parse(component, "hello").get("intent")["name"] == "greet"


ENGLISH_AND_CHINESE = {
    "greet": [*GREETINGS, "你好", "在吗", "哈喽"],
    "order": [*ORDERS, "我的订单到哪了", "快递什么时候到"],
    # Only ever written in Chinese: the English classifier never learns it.
    "thanks_zh": ["谢谢", "多谢了", "太感谢了"],
}


@pytest.fixture(scope="module")
def by_language(tmp_path_factory) -> dict[str, BertIntentSentimentClassifier]:
    """Two classifiers, English (with wordless messages) and Chinese, as in
    config.yml, each trained on the same mixed data."""
    tmp = tmp_path_factory.mktemp("by_language")
    sentiment = write_sentiment_csv(tmp / "s.csv", SENTIMENT_ROWS + ZH_ROWS)
    components = {}
    for name, languages in (("en", ["en", "none"]), ("zh", ["zh"])):
        config = {
            **TINY_CONFIG,
            "languages": languages,
            "sentiment_data": str(sentiment),
        }
        storage, resource = train_component(
            tmp / name, config, training_data(ENGLISH_AND_CHINESE)
        )
        components[name] = load_component(storage, resource, config)
    return components


def test_each_classifier_learns_only_its_languages(by_language) -> None:
    assert by_language["en"].model.labels.intents == ["greet", "order"]
    assert by_language["zh"].model.labels.intents == ["greet", "order", "thanks_zh"]


@pytest.mark.parametrize(
    "text, reader",
    [
        ("where is my order", "en"),
        ("我的订单ORD-1001到哪了", "zh"),
        ("ORD-1001", "en"),
        ("😡😡", "en"),
        ("where is ORD-1001, 谢谢", "en"),
    ],
)
def test_each_message_is_read_by_the_classifier_of_its_language(
    by_language, text: str, reader: str
) -> None:
    message = Message(data={"text": text})
    for component in by_language.values():
        component.process([message])
    intents = by_language[reader].model.labels.intents
    assert message.get("intent")["name"] in intents
    assert {r["name"] for r in message.get("intent_ranking")} <= set(intents)
    sentiments = [e for e in message.get("entities") if e["entity"] == "sentiment"]
    assert len(sentiments) == 1  # the other classifier left it alone


def test_languages_must_be_known(tmp_path) -> None:
    with pytest.raises(InvalidConfigException, match="languages"):
        train_component(
            tmp_path / "storage",
            {**TINY_CONFIG, "languages": ["fr"]},
            training_data({"greet": GREETINGS, "order": ORDERS}),
        )
