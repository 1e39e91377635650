"""Reranking the fused candidates: one protocol, two implementations.

Off by default (`retrieval.reranker = "none"`).
- cross-encoder: a sentence-transformers CrossEncoder. No registry package
  ships cross-encoder weights, so `retrieval.cross_encoder` names a local path
  (or, with hub access, a model name).
- llm: the packaged local LLM as a yes/no judge of whether a passage answers
  the question, scored by P(yes). About 0.5 pairs/s on 2 cores, so it rescores
  only `retrieval.llm_rerank_candidates` hits.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from rag.errors import ConfigError
from rag.settings import Settings


class Reranker(Protocol):
    @property
    def candidates(self) -> int:
        """How many of the fused hits this reranker rescores."""
        ...

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        """Relevance of each passage to the question; higher is better."""
        ...


class CrossEncoderReranker:
    def __init__(self, model: str, candidates: int = 20, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        try:
            self._model = CrossEncoder(model, device=device)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load reranker {model!r}: {exc}") from None
        self.candidates = candidates

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        scores = self._model.predict([(question, p) for p in passages], show_progress_bar=False)
        return [float(s) for s in scores]


def make_reranker(settings: Settings) -> Reranker | None:
    retrieval = settings.retrieval
    if retrieval.reranker == "cross-encoder":
        if not retrieval.cross_encoder:
            raise ConfigError(
                "retrieval.reranker is cross-encoder but no model is named",
                "set retrieval.cross_encoder to a model path",
            )
        return CrossEncoderReranker(
            retrieval.cross_encoder, retrieval.rerank_candidates, settings.embedding.device
        )
    if retrieval.reranker == "llm":
        from rag.generation.judge import LLMJudgeReranker
        from rag.generation.local import LocalLLM

        return LLMJudgeReranker(LocalLLM(settings.llm), retrieval.llm_rerank_candidates)
    return None
