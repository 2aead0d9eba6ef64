"""The fine-tuned intent + sentiment model as an int8 ONNX graph, for answering.

One short message through the PyTorch model is mostly Python and per-operator
overhead; ONNX Runtime runs the same graph with weights stored as int8 (per
output channel) and activations quantized per call (dynamic quantization) in
about a third of the time, from a file about a third of the size. `export`
writes the graph beside the PyTorch weights when a model is trained, so the
Rasa model archive carries it and nothing is converted when a server starts;
`OnnxIntentSentimentModel` answers with it, with the same `predict` as
`IntentSentimentModel`.

Kept free of Rasa, like `encoder_model.py`.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoTokenizer

from base_models import onnx_export
from components.encoder_model import (
    ENCODER_DIR,
    LABELS_FILE,
    IntentSentimentModel,
    LabelSpace,
    Prediction,
    _quiet_transformers,
)

ONNX_FILE = "model.int8.onnx"


def export(directory: Path) -> Path:
    """Write ``directory/model.int8.onnx`` from the model saved in ``directory``.

    The model is loaded afresh for the export (tracing leaves a module unfit for
    further use) with eager attention, which traces into plain operators.
    """
    model = IntentSentimentModel.load(directory, attn_implementation="eager")
    example = model.tokenize(["where is my order", "我的订单到哪了"])
    outputs = ["intent_probabilities"]
    if model.sentiment_head is not None:
        outputs.append("sentiment_probabilities")
    tokens = {0: "batch", 1: "tokens"}
    target = directory / ONNX_FILE
    with tempfile.TemporaryDirectory() as scratch:
        float32 = Path(scratch) / "model.float32.onnx"
        # The tracer warns about every Python-level shape check in transformers'
        # code; tests compare the graph's answers with the PyTorch model's.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Probabilities(model),
                (example["input_ids"], example["attention_mask"]),
                str(float32),
                input_names=["input_ids", "attention_mask"],
                output_names=outputs,
                dynamic_axes={
                    "input_ids": tokens,
                    "attention_mask": tokens,
                    **{name: {0: "batch"} for name in outputs},
                },
                opset_version=onnx_export.OPSET,
                dynamo=False,
            )
        onnx_export.quantize(
            float32,
            target,
            per_channel=True,
            reduce_range=True,
            nodes_to_exclude=_float32_nodes(float32),
        )
    return target


def _float32_nodes(path: Path) -> list[str]:
    """The feed-forward output projections: their inputs have the outliers that
    int8 activations clip. Kept float32, with weights per channel, the held-out
    accuracy stays within half a point of float32 (docs/languages.md)."""
    import onnx

    return [
        node.name
        for node in onnx.load(str(path), load_external_data=False).graph.node
        if node.name.endswith("/output/dense/MatMul") and "/attention/" not in node.name
    ]


class OnnxIntentSentimentModel:
    """Answers like `IntentSentimentModel.predict`, from ``model.int8.onnx``."""

    def __init__(self, directory: Path, threads: int | None = None) -> None:
        """Raises FileNotFoundError when the model was saved without the graph."""
        path = directory / ONNX_FILE
        if not path.is_file():
            raise FileNotFoundError(path)
        _quiet_transformers()
        metadata = json.loads((directory / LABELS_FILE).read_text())
        self.labels = LabelSpace(**metadata["labels"])
        self.max_seq_length = int(metadata["max_seq_length"])
        self.tokenizer = AutoTokenizer.from_pretrained(
            directory / ENCODER_DIR, local_files_only=True
        )
        self.session = onnx_export.session(path, threads)

    def predict(self, texts: list[str]) -> list[Prediction]:
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_tensors="np",
        )
        inputs = {
            "input_ids": batch["input_ids"].astype(np.int64),
            "attention_mask": batch["attention_mask"].astype(np.int64),
        }
        intents, *sentiments = self.session.run(None, inputs)
        if not sentiments:
            return [Prediction(row.tolist()) for row in intents]
        return [
            Prediction(i.tolist(), s.tolist()) for i, s in zip(intents, sentiments[0])
        ]


class _Probabilities(nn.Module):
    """The exported graph: token ids and mask in, each head's probabilities out."""

    def __init__(self, model: IntentSentimentModel) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        pooled = self.model.encode(
            {"input_ids": input_ids, "attention_mask": attention_mask}
        )
        intents = self.model.intent_head(pooled).softmax(dim=-1)
        if self.model.sentiment_head is None:
            return (intents,)
        return intents, self.model.sentiment_head(pooled).softmax(dim=-1)
