"""Sentence embeddings for the knowledge base: a model made for semantic search.

The default is the packaged all-MiniLM-L6-v2 used exactly as it was trained
(mean of the token embeddings, then unit length), not the fine-tuned intent
encoder, whose space is shaped for telling eight tasks apart rather than for
matching a question to the text that answers it. Any Hugging Face encoder
folder, or the multilingual-e5-small that reads Chinese, can be swapped in
(``KB_EMBEDDING_MODEL``); e5 wants its ``query:``/``passage:`` prefixes, which
``base_models.prefixes`` knows.

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
BATCH_SIZE = 32


class SentenceEmbedder:
    """Texts to unit vectors (float32); thread-safe, one model per process."""

    def __init__(self, model: str = base_models.MINILM) -> None:
        """``model``: a name ``base_models`` knows, or a Hugging Face model folder."""
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        folder = base_models.resolve(model)
        self.name = base_models.name_of(model)
        self.query_prefix, self.passage_prefix = base_models.prefixes(model)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        self.dimension = int(self.model.config.hidden_size)
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.passage_prefix + t for t in texts])

    def _embed(self, texts: list[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Batches of similar length pad little: sort, embed, put back in order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), BATCH_SIZE):
                chunk = order[start : start + BATCH_SIZE]
                batch = self.tokenizer(
                    [texts[i] for i in chunk],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = self.model(
                    input_ids=batch["input_ids"],
                    attention_mask=batch["attention_mask"],
                ).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                vectors[chunk] = pooled.numpy()
        return vectors
