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

import torch
from torch import nn

from components.encoder_model import IntentSentimentModel

logger = logging.getLogger(__name__)

# Batches per length-sorting window in `batches`.
BUCKET_BATCHES = 20


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
    freeze_embeddings: bool
    max_train_minutes: float | None
    label_smoothing: float


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
) -> tuple[LabelledTexts, LabelledTexts | None]:
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
    """Shuffled batches of texts of similar length, so little time goes to padding.

    Texts are shuffled, sorted by length within windows of BUCKET_BATCHES batches, cut
    into batches, and the batches shuffled again: random, but rarely a one-word text
    padded to the length of a rant.
    """
    order = list(range(len(data)))
    rng.shuffle(order)
    window = batch_size * BUCKET_BATCHES
    for start in range(0, len(order), window):
        order[start : start + window] = sorted(
            order[start : start + window], key=lambda i: len(data.texts[i])
        )
    result = [
        (
            [data.texts[i] for i in order[start : start + batch_size]],
            torch.tensor([data.labels[i] for i in order[start : start + batch_size]]),
        )
        for start in range(0, len(order), batch_size)
    ]
    rng.shuffle(result)
    return result


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


class EarlyStopping:
    """Remembers the best validation epoch and says when to give up waiting."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_score = -1.0
        self.best_state: dict | None = None
        self.epochs_without_improvement = 0

    def should_stop(self, score: float, model: nn.Module) -> bool:
        if score > self.best_score:
            self.best_score = score
            self.best_state = copy.deepcopy(model.state_dict())
            self.epochs_without_improvement = 0
            return False
        self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def restore_best(self, model: nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


def _progress(epoch: int, epochs: int, elapsed: float) -> str:
    """ "3/12 (95 s so far, at most 285 s more)": what a person waiting wants.

    "At most": early stopping usually ends training before the last epoch.
    """
    left = elapsed / epoch * (epochs - epoch)
    return f"{epoch}/{epochs} ({elapsed:.0f} s so far, at most {left:.0f} s more)"


def _no_time_for_another_epoch(
    elapsed: float, epochs_done: int, budget: float | None
) -> bool:
    """True when one more epoch of average length would end past the budget."""
    if budget is None:
        return False
    if elapsed + elapsed / epochs_done <= budget * 60:
        return False
    logger.info(f"stopping: another epoch would exceed the {budget} min budget")
    return True


def fine_tune(
    model: IntentSentimentModel,
    intents: LabelledTexts,
    sentiments: LabelledTexts | None,
    settings: TrainingSettings,
) -> IntentSentimentModel:
    """Train both heads and the encoder; return the best validation epoch's model."""
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
    # Label smoothing keeps confidences honest, so FallbackClassifier's threshold
    # catches messages the model has not really understood.
    intent_loss = nn.CrossEntropyLoss(
        weight=balanced_class_weights(
            intent_train.labels, len(model.labels.intents)
        ).to(device),
        label_smoothing=settings.label_smoothing,
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

    if settings.freeze_embeddings:
        # Half of MiniLM's weights are the word-embedding table; updating it costs
        # more time per step than the six transformer layers and gains little.
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    head_params = [
        p for n, p in model.named_parameters() if not n.startswith("encoder.")
    ]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": settings.learning_rate},
            {"params": head_params, "lr": settings.head_learning_rate},
        ],
        weight_decay=settings.weight_decay,
    )
    steps_per_epoch = math.ceil(len(intent_train) / settings.batch_size)
    if sentiment_train:
        steps_per_epoch += math.ceil(len(sentiment_train) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        _linear_schedule(
            total_steps, max(int(total_steps * settings.warmup_fraction), 1)
        ),
    )

    training_started = time.perf_counter()
    stopper = EarlyStopping(settings.early_stopping_patience)
    for epoch in range(1, settings.epochs + 1):
        model.train()
        # Both tasks' batches, shuffled together: each step trains one head (and the
        # shared encoder), so an epoch costs one pass over each data set.
        steps = [("intent", b) for b in batches(intent_train, settings.batch_size, rng)]
        if sentiment_train:
            steps += [
                ("sentiment", b)
                for b in batches(sentiment_train, settings.batch_size, rng)
            ]
        rng.shuffle(steps)
        total_loss = 0.0
        for task, (texts, labels) in steps:
            intent_logits, sentiment_logits = model(model.tokenize(texts))
            if task == "intent":
                loss = intent_loss(intent_logits, labels.to(device))
            else:
                loss = sentiment_loss(sentiment_logits, labels.to(device))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            total_loss += loss.item()
        mean_loss = total_loss / len(steps)
        elapsed = time.perf_counter() - training_started

        progress = _progress(epoch, settings.epochs, elapsed)
        if intent_valid is None:
            logger.info(f"epoch {progress}: loss {mean_loss:.4f}")
        else:
            scores = [accuracy(model, intent_valid, "intent")]
            if sentiment_valid:
                scores.append(accuracy(model, sentiment_valid, "sentiment"))
            logger.info(
                f"epoch {progress}: loss {mean_loss:.4f}, validation accuracy "
                f"{[round(s, 4) for s in scores]}"
            )
            if stopper.should_stop(sum(scores) / len(scores), model):
                logger.info(f"early stopping after epoch {epoch}")
                break
        if _no_time_for_another_epoch(elapsed, epoch, settings.max_train_minutes):
            break

    stopper.restore_best(model)
    model.eval()
    return model
