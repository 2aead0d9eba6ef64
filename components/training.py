"""Bounded multi-task fine-tuning of `IntentSentimentModel` on a CPU.

Bounded means: small batches padded per batch, a max sequence length, a fixed epoch
budget and early stopping on a held-out validation split, so training the project (or
a 10,000-sentence benchmark) finishes in minutes on two cores.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import cycle
from typing import Iterator, Optional

import torch
from torch import nn

from components.encoder_model import IntentSentimentModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSettings:
    """The knobs exposed through config.yml (see the component's default config)."""

    epochs: int
    batch_size: int
    learning_rate: float
    head_learning_rate: float
    warmup_fraction: float
    weight_decay: float
    validation_split: float
    early_stopping_patience: int
    random_seed: int


@dataclass
class LabelledTexts:
    """Texts with integer label ids for one head."""

    texts: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: list[int]) -> LabelledTexts:
        return LabelledTexts(
            [self.texts[i] for i in indices], [self.labels[i] for i in indices]
        )


def stratified_split(
    data: LabelledTexts, fraction: float, rng: random.Random
) -> tuple[LabelledTexts, Optional[LabelledTexts]]:
    """Hold out `fraction` of every class; classes too small to spare one keep all."""
    by_label: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(data.labels):
        by_label[label].append(index)
    train_idx: list[int] = []
    valid_idx: list[int] = []
    for indices in by_label.values():
        rng.shuffle(indices)
        n_valid = int(len(indices) * fraction)
        valid_idx.extend(indices[:n_valid])
        train_idx.extend(indices[n_valid:])
    if not valid_idx:
        return data, None
    return data.subset(sorted(train_idx)), data.subset(sorted(valid_idx))


def balanced_class_weights(labels: list[int], n_classes: int) -> torch.Tensor:
    """Weight rare classes up so an imbalanced data set does not drown them."""
    counts = Counter(labels)
    total = len(labels)
    weights = [
        total / (n_classes * counts[c]) if counts[c] else 0.0 for c in range(n_classes)
    ]
    return torch.tensor(weights, dtype=torch.float)


def batches(
    data: LabelledTexts, batch_size: int, rng: random.Random
) -> list[tuple[list[str], torch.Tensor]]:
    order = list(range(len(data)))
    rng.shuffle(order)
    return [
        (
            [data.texts[i] for i in order[start : start + batch_size]],
            torch.tensor([data.labels[i] for i in order[start : start + batch_size]]),
        )
        for start in range(0, len(order), batch_size)
    ]


def _paired_batches(
    intent_batches: list, sentiment_batches: list
) -> Iterator[tuple[tuple, Optional[tuple]]]:
    """One step per intent batch; the sentiment data is cycled alongside it."""
    if not sentiment_batches:
        yield from ((batch, None) for batch in intent_batches)
        return
    yield from zip(intent_batches, cycle(sentiment_batches))


@torch.inference_mode()
def accuracy(
    model: IntentSentimentModel, data: LabelledTexts, head: str, batch_size: int = 64
) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        texts = data.texts[start : start + batch_size]
        intent_logits, sentiment_logits = model(model.tokenize(texts))
        logits = intent_logits if head == "intent" else sentiment_logits
        predicted = logits.argmax(dim=-1).cpu().tolist()
        gold = data.labels[start : start + batch_size]
        correct += sum(p == g for p, g in zip(predicted, gold))
    return correct / max(len(data), 1)


def _linear_schedule(total_steps: int, warmup_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        remaining = total_steps - step
        return max(remaining / max(total_steps - warmup_steps, 1), 0.0)

    return factor


def fine_tune(
    model: IntentSentimentModel,
    intents: LabelledTexts,
    sentiments: Optional[LabelledTexts],
    settings: TrainingSettings,
) -> IntentSentimentModel:
    """Train both heads and the encoder; return the model at its best validation epoch."""
    rng = random.Random(settings.random_seed)
    torch.manual_seed(settings.random_seed)

    intent_train, intent_valid = stratified_split(
        intents, settings.validation_split, rng
    )
    sentiment_train, sentiment_valid = (
        stratified_split(sentiments, settings.validation_split, rng)
        if sentiments
        else (None, None)
    )

    device = model.device
    intent_loss = nn.CrossEntropyLoss(
        weight=balanced_class_weights(
            intent_train.labels, len(model.labels.intents)
        ).to(device)
    )
    sentiment_loss = (
        nn.CrossEntropyLoss(
            weight=balanced_class_weights(
                sentiment_train.labels, len(model.labels.sentiments)
            ).to(device)
        )
        if sentiment_train
        else None
    )

    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    optimizer = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": settings.learning_rate},
            {"params": head_params, "lr": settings.head_learning_rate},
        ],
        weight_decay=settings.weight_decay,
    )
    steps_per_epoch = math.ceil(len(intent_train) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        _linear_schedule(
            total_steps, max(int(total_steps * settings.warmup_fraction), 1)
        ),
    )

    best_score = -1.0
    best_state: Optional[dict] = None
    epochs_without_improvement = 0
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        model.train()
        intent_batches = batches(intent_train, settings.batch_size, rng)
        sentiment_batches = (
            batches(sentiment_train, settings.batch_size, rng) if sentiment_train else []
        )
        total_loss = 0.0
        for (texts, labels), sentiment_batch in _paired_batches(
            intent_batches, sentiment_batches
        ):
            intent_logits, _ = model(model.tokenize(texts))
            loss = intent_loss(intent_logits, labels.to(device))
            if sentiment_batch is not None:
                s_texts, s_labels = sentiment_batch
                _, sentiment_logits = model(model.tokenize(s_texts))
                loss = loss + sentiment_loss(sentiment_logits, s_labels.to(device))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            total_loss += loss.item()

        if intent_valid is None:
            logger.info(
                f"epoch {epoch}: loss {total_loss / len(intent_batches):.4f} "
                f"({time.perf_counter() - started:.1f}s, no validation split)"
            )
            continue

        scores = [accuracy(model, intent_valid, "intent")]
        if sentiment_valid:
            scores.append(accuracy(model, sentiment_valid, "sentiment"))
        score = sum(scores) / len(scores)
        logger.info(
            f"epoch {epoch}: loss {total_loss / len(intent_batches):.4f}, "
            f"validation accuracy {scores} ({time.perf_counter() - started:.1f}s)"
        )
        if score > best_score:
            best_score = score
            best_state = copy.deepcopy(model.state_dict())
            epochs_without_improvement = 0
        else:
            epochs_without_improvement += 1
            if epochs_without_improvement >= settings.early_stopping_patience:
                logger.info(f"early stopping after epoch {epoch}")
                break

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model
