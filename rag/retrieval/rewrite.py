"""The seam for query transforms (multi-query, HyDE): a question in, the
queries to retrieve with out. Generation supplies LLM-backed transforms; the
default leaves the question as it is."""

from __future__ import annotations

from typing import Protocol


class QueryTransform(Protocol):
    def queries(self, question: str) -> list[str]:
        """Texts to retrieve with; their rankings are fused together."""
        ...


class Unchanged:
    def queries(self, question: str) -> list[str]:
        return [question]
