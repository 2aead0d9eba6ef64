"""How well a trained model reads labelled messages, intent by intent.

Messages go through the model's whole NLU pipeline (``Agent.parse_message``),
as on the server; the intent counted is the classifier's best guess, past the
fallback's low-confidence flag, so a model is not rewarded for falling back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import precision_recall_fscore_support

from analytics.figures import FALLBACK_INTENT


def load_test_examples(path: Path) -> tuple[list[str], list[str]]:
    """(texts, intents) of a Rasa NLU YAML file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    examples = [m for m in data.intent_examples if m.get("text")]
    return [m.get("text") for m in examples], [m.get("intent") for m in examples]


def top_intent(parse: dict) -> str:
    """The classifier's best guess, looking past the fallback's low-confidence flag."""
    for candidate in parse.get("intent_ranking") or [parse.get("intent") or {}]:
        if candidate.get("name") != FALLBACK_INTENT:
            return candidate.get("name")
    return FALLBACK_INTENT


async def predict(model: Path, texts: list[str]) -> list[str]:
    """The model's intent for each text (the model is loaded, used, dropped)."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Unconfigured, Rasa's structlog prints every parse at debug level; its CLI
    # configures it like this.
    configure_structlog(logging.INFO)
    agent = Agent.load(str(model))
    return [top_intent(await agent.parse_message(text)) for text in texts]


@dataclass(frozen=True)
class IntentScore:
    intent: str
    support: int
    f1: float


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float  # over ``intents`` only
    per_intent: dict[str, IntentScore]
    examples: int


def score(gold: list[str], predicted: list[str], intents: list[str]) -> Scores:
    """Accuracy over every example; F1 for each of ``intents`` and their mean
    (an intent absent from ``gold`` has no F1 and is left out of the mean)."""
    present = [intent for intent in sorted(intents) if intent in set(gold)]
    if not gold:
        return Scores(0.0, 0.0, {}, 0)
    _, _, f1s, supports = precision_recall_fscore_support(
        gold, predicted, labels=present, zero_division=0
    )
    per_intent = {
        intent: IntentScore(intent, int(support), float(f1))
        for intent, f1, support in zip(present, f1s, supports)
    }
    macro = float(sum(f1s) / len(f1s)) if present else 0.0
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold)
    return Scores(accuracy, macro, per_intent, len(gold))
