"""A retriever's answer: chunk positions with scores, best first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Hit:
    position: int  # the chunk's position in the snapshot's store
    score: float
    rank: int  # 1-based


class Retriever(Protocol):
    def retrieve(self, question: str, k: int) -> list[Hit]:
        """The `k` best chunks for `question`, best first."""
        ...


def ranked(positions: list[int], scores: list[float]) -> list[Hit]:
    return [Hit(p, s, r) for r, (p, s) in enumerate(zip(positions, scores, strict=True), start=1)]
