"""Sentence embeddings for the knowledge base: a model made for semantic search.

The default is the packaged all-MiniLM-L6-v2 used exactly as it was trained
(mean of the token embeddings, then unit length), not the fine-tuned intent
encoder, whose space is shaped for telling eight tasks apart rather than for
matching a question to the text that answers it. Any Hugging Face encoder
folder, or the multilingual-e5-small that reads Chinese, can be swapped in
(``KB_EMBEDDING_MODEL``); e5 wants its ``query:``/``passage:`` prefixes, which
``base_models.prefixes`` knows.

It runs on ONNX Runtime by default (``base_models.onnx_export``): the same
vectors as PyTorch in a third of the time, which is most of a question's
retrieval time. ``runtime="torch"`` keeps the eager model, for comparison.

torch and transformers are imported when a model is loaded, not with this
module: ``make seed`` checks whether anything needs embedding without them.
"""

from __future__ import annotations

import threading

import numpy as np

import base_models

# Questions are short; a longer one (a customer's whole story) is cut here,
# which keeps the worst case of one embedding bounded (about 10 ms on one core).
MAX_TOKENS = 128
# One text at a time. The int8 graph quantizes activations with one scale per
# batch, so a text embedded beside others would get a vector that depends on
# its companions (up to 0.05 apart in one component); alone, an article's text
# gets the same vector whether the whole help center is embedded or one edited
# article, and the same as the customer's question would. On a CPU it costs
# nothing: the 3,235 texts of the demo articles take 15.2 s one at a time and
# 14.8 s in batches of 32.
BATCH_SIZE = 1
RUNTIMES = ("onnx", "torch")


def vectors_name(model: str, runtime: str, precision: str) -> str:
    """What stored vectors are labelled with: the model, and ``+int8`` where
    quantized (ONNX float32 and eager PyTorch give the same vectors; int8 does
    not quite, and a question is compared only with vectors made its way)."""
    quantized = runtime == "onnx" and precision == "int8"
    return base_models.name_of(model) + ("+int8" if quantized else "")


class SentenceEmbedder:
    """Texts to unit vectors (float32); thread-safe, one model per process."""

    def __init__(
        self,
        model: str = base_models.MINILM,
        runtime: str = "onnx",
        precision: str = "float32",
        threads: int | None = None,
    ) -> None:
        """``model``: a name ``base_models`` knows, or a Hugging Face model folder;
        ``precision`` (float32 or int8) applies to ONNX; ``threads`` None lets
        the runtime choose."""
        from transformers import AutoTokenizer
        from transformers.utils import logging as transformers_logging

        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, not {runtime!r}")
        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        folder = base_models.resolve(model)
        self.name = vectors_name(model, runtime, precision)
        self.runtime = runtime
        self.query_prefix, self.passage_prefix = base_models.prefixes(model)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self._lock = threading.Lock()
        if runtime == "onnx":
            from base_models import onnx_export

            path = onnx_export.sentence_encoder(folder, precision)
            self._session = onnx_export.session(path, threads)
            self.dimension = int(self._session.get_outputs()[0].shape[-1])
            self._forward = self._onnx_forward
        else:
            import torch
            from transformers import AutoModel

            if threads:
                torch.set_num_threads(threads)
            self.model = AutoModel.from_pretrained(folder).eval()
            self.dimension = int(self.model.config.hidden_size)
            self._forward = self._torch_forward

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.passage_prefix + t for t in texts])

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # (With BATCH_SIZE > 1, batches of similar length pad little: sorted.)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self._lock:
            for start in range(0, len(order), BATCH_SIZE):
                chunk = order[start : start + BATCH_SIZE]
                batch = self.tokenizer(
                    [texts[i] for i in chunk],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="np",
                )
                vectors[chunk] = self._forward(
                    batch["input_ids"].astype(np.int64),
                    batch["attention_mask"].astype(np.int64),
                )
        return vectors

    def _onnx_forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        inputs = {"input_ids": ids, "attention_mask": mask}
        return self._session.run(None, inputs)[0]

    def _torch_forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            mask_t = torch.from_numpy(mask)
            hidden = self.model(
                input_ids=torch.from_numpy(ids), attention_mask=mask_t
            ).last_hidden_state
            weights = mask_t.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            return torch.nn.functional.normalize(pooled, dim=-1).numpy()
