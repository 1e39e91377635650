"""Reranking the fused candidates: one protocol, a cross-encoder implementation.

Off by default. No registry package ships cross-encoder weights, so the model
is whatever `retrieval.reranker` names: a local path or, with hub access, a
model name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from rag.errors import ConfigError


class Reranker(Protocol):
    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        """Relevance of each passage to the question; higher is better."""
        ...


class CrossEncoderReranker:
    def __init__(self, model: str, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        try:
            self._model = CrossEncoder(model, device=device)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load reranker {model!r}: {exc}") from None

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        scores = self._model.predict([(question, p) for p in passages], show_progress_bar=False)
        return [float(s) for s in scores]
