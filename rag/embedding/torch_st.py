"""sentence-transformers on torch in float32: the reference embedder.

It is the baseline the ONNX embedder is measured against (speed, cosine to
these vectors, SciFact nDCG@10), and the backend for models the ONNX export
does not cover.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.embedding.base import Offsets, Vectors, resolve_model
from rag.errors import ConfigError
from rag.settings import EmbeddingSettings


def load_sentence_transformer(settings: EmbeddingSettings) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        return SentenceTransformer(resolve_model(settings.model), device=settings.device)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load embedding model {settings.model!r}: {exc}") from None


class SentenceTransformerEmbedder:
    """sentence-transformers on torch, loaded offline by path."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self._model = load_sentence_transformer(settings)
        self._tokenizer: Any = self._model.tokenizer
        self._batch_size = settings.batch_size
        self.name = settings.model
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 0) - self._special_tokens()

    def _special_tokens(self) -> int:
        return len(self._tokenizer("", add_special_tokens=True)["input_ids"])

    def token_offsets(self, text: str) -> Offsets:
        encoded = self._tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [(int(a), int(b)) for a, b in encoded["offset_mapping"]]

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
