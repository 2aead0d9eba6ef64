"""A BERT-family encoder with an intent head and an optional sentiment head.

Kept free of Rasa so the model can be trained, saved and loaded on its own; the Rasa
graph component in `intent_sentiment_classifier.py` only adapts it to training data
and messages.
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase
from transformers import logging as transformers_logging
from transformers.modeling_outputs import BaseModelOutput

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
        cls,
        model_name_or_path: str,
        labels: LabelSpace,
        max_seq_length: int,
        layers: int | None = None,
    ) -> IntentSentimentModel:
        """Start from pre-trained encoder weights with freshly initialised heads;
        with ``layers``, only the encoder's first ``layers`` transformer layers."""
        _quiet_transformers()
        tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
        kept = {"num_hidden_layers": layers} if layers else {}
        encoder = AutoModel.from_pretrained(model_name_or_path, **kept)
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
        hidden = self.encoder(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
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
        """Everything needed to predict, so the Rasa model archive is self-contained.

        The encoder's weights are stored in 16 bits: half the archive, and half
        the time Rasa spends compressing it; `load` widens them to float32 again,
        and the held-out predictions stay the same (docs/languages.md).
        """
        copy.deepcopy(self.encoder).half().save_pretrained(directory / ENCODER_DIR)
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
    def load(cls, directory: Path, **encoder_options: str) -> IntentSentimentModel:
        """Inverse of `save`; reads only local files. ``encoder_options`` go to
        transformers (``attn_implementation="eager"`` for an ONNX export)."""
        _quiet_transformers()
        metadata = json.loads((directory / LABELS_FILE).read_text())
        encoder_dir = directory / ENCODER_DIR
        model = cls(
            AutoModel.from_pretrained(
                encoder_dir,
                local_files_only=True,
                dtype=torch.float32,
                **encoder_options,
            ),
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


# The ways the model answers on a CPU: PyTorch at a precision, the int8 ONNX
# graph saved with it (components/onnx_model.py), or that graph with float32
# deciding its near ties (components/checked_int8_model.py).
ONNX_INT8 = "onnx-int8"
ONNX_INT8_CHECKED = "onnx-int8-checked"
INFERENCE_PRECISIONS = (
    "auto", "float32", "bfloat16", "int8", ONNX_INT8, ONNX_INT8_CHECKED,
)  # fmt: skip


class TracedEncoder(nn.Module):
    """A TorchScript trace of a Hugging Face encoder: same maths, less Python.

    For one short message most of an eager forward pass is Python overhead in the
    transformers modules; the trace replays the recorded operations directly. It is
    recorded on a padded batch so the attention-mask path is part of the trace.
    Token type ids are left at their default (all zeros, as for a single text).
    """

    def __init__(self, encoder: nn.Module, example: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.config = encoder.config
        # The tracer warns about shape checks it turns into constants; for a
        # bidirectional encoder they are constant, and the tests compare the
        # trace with eager mode on other batch sizes and lengths. torch also
        # announces that jit is deprecated: it still works in the pinned torch,
        # and that notice means nothing to someone chatting in rasa shell.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            self.traced = torch.jit.trace(
                encoder.eval(),
                (example["input_ids"], example["attention_mask"]),
                strict=False,
                check_trace=False,
            )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> BaseModelOutput:
        outputs = self.traced(input_ids, attention_mask)
        return BaseModelOutput(last_hidden_state=outputs["last_hidden_state"])


def trace_encoder(model: IntentSentimentModel) -> IntentSentimentModel:
    """Swap the eager encoder for its trace (CPU inference only)."""
    example = model.tokenize(["trace", "a longer example so that the batch is padded"])
    model.encoder = TracedEncoder(model.encoder, example)
    return model


def for_inference(
    model: IntentSentimentModel, precision: str, device: torch.device, trace: bool
) -> IntentSentimentModel:
    """The model in the form it will answer with, on `device`.

    `auto` precision uses bfloat16 where the CPU computes it natively (2-3x faster
    matrix products, same held-out predictions in our measurements) and float32
    elsewhere; `int8` is dynamic quantisation of the linear layers: smaller and
    fast, a little less accurate. `trace` records a TorchScript trace of the
    encoder (not combined with int8). GPUs keep float32 and eager mode.
    """
    if device.type != "cpu":
        return model.to(device)
    if precision == "auto":
        precision = (
            "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"
        )
    if precision == "int8":
        return torch.ao.quantization.quantize_dynamic(
            model, {nn.Linear}, dtype=torch.qint8
        )
    if precision == "bfloat16":
        model = model.to(torch.bfloat16)
    return trace_encoder(model) if trace else model
