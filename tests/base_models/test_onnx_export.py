"""The ONNX export of a sentence encoder: the eager model's vectors, cached by hash."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import base_models
from actions.kb.embedder import SentenceEmbedder
from base_models import onnx_export

# Different lengths in one batch: the exported graph must take any padding.
SENTENCES = [
    "where is my order",
    "do you ship to Canada, and how much does it cost to send a parcel there?",
    "my parcel ORD-1001 arrived broken!!!",
    "x",
    "I want to return the blue kettle I bought last week because it leaks " * 4,
]


@pytest.fixture(scope="module")
def eager() -> np.ndarray:
    return SentenceEmbedder(base_models.MINILM, "torch").embed_queries(SENTENCES)


def test_onnx_float32_gives_the_eager_models_vectors(eager: np.ndarray) -> None:
    exported = SentenceEmbedder(base_models.MINILM, "onnx").embed_queries(SENTENCES)
    cosines = (eager * exported).sum(axis=1)
    assert cosines.min() > 0.9999, cosines
    # Distinct sentences stay distinct: the check above is not met by any vector.
    assert float(eager[0] @ exported[1]) < 0.9


def test_int8_is_close_and_a_quarter_of_the_size(eager: np.ndarray) -> None:
    quantized = SentenceEmbedder(base_models.MINILM, "onnx", "int8", threads=1)
    cosines = (eager * quantized.embed_queries(SENTENCES)).sum(axis=1)
    assert cosines.min() > 0.85, cosines
    folder = base_models.resolve(base_models.MINILM)
    float32 = onnx_export.sentence_encoder(folder, "float32").stat().st_size
    int8 = onnx_export.sentence_encoder(folder, "int8").stat().st_size
    assert int8 < float32 / 3


def test_an_export_is_reused_and_a_changed_model_exported_anew(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(base_models.resolve(base_models.MINILM), folder)
    cache = tmp_path / "onnx"
    first = onnx_export.sentence_encoder(folder, cache=cache)
    made = first.stat().st_mtime_ns
    assert onnx_export.sentence_encoder(folder, cache=cache) == first
    assert first.stat().st_mtime_ns == made  # not exported twice
    config = folder / "config.json"
    config.write_text(
        config.read_text().replace('"layer_norm_eps"', '"unused": 1, "layer_norm_eps"')
    )
    assert onnx_export.sentence_encoder(folder, cache=cache) != first
    assert not list(cache.glob(".*.partial"))


def test_an_unknown_runtime_or_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="runtime must be one of"):
        SentenceEmbedder(base_models.MINILM, "tensorrt")
    with pytest.raises(ValueError, match="precision must be one of"):
        onnx_export.sentence_encoder(base_models.resolve(base_models.MINILM), "int4")
