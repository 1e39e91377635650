"""Generators: question + numbered passages -> answer text with [n] markers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

from rag.answer.deadline import within
from rag.answer.grammar import answer_grammar
from rag.answer.prompt import REFUSAL, answer_messages
from rag.embedding import Embedder
from rag.errors import GeneratorFailedError, RagError
from rag.llm.local import LocalLLM
from rag.llm.markup import as_data
from rag.retrieval.passages import Passage


class Generator(Protocol):
    name: str

    @property
    def usage(self) -> tuple[int, int] | None:
        """Tokens the model read and wrote for the last answer; None where unknown."""
        ...

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """Pieces of the answer text, citing passages by their 1-based number."""
        ...


class LocalGenerator:
    """The local LLM, loaded on first use; a model that fails to load or to run
    raises `GeneratorFailedError`, so the caller can fall back."""

    name = "local"

    def __init__(
        self, load: Callable[[], LocalLLM], max_tokens: int, deadline_s: float = 300.0
    ) -> None:
        self._load = load
        self._max_tokens = max_tokens
        self._deadline_s = deadline_s
        self.usage: tuple[int, int] | None = None

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        deadline = self._deadline_s
        return within(
            self._pieces(question, passages),
            deadline,
            lambda: GeneratorFailedError(f"local model did not finish within {deadline:g} s"),
        )

    def _pieces(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        try:
            llm = self._load()
            messages = answer_messages(question, passages)
            grammar = answer_grammar(len(passages)) if passages else None
            yield from llm.chat_stream(messages, self._max_tokens, grammar)
            speed = llm.last_speed
            self.usage = (speed.prompt_total, speed.generated) if speed else None
        except (RagError, RuntimeError, ValueError, OSError) as exc:
            raise GeneratorFailedError(f"local model: {exc}") from None


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


class ExtractiveGenerator:
    """No LLM: the passage sentences closest to the question, verbatim, each cited."""

    name = "extractive"
    usage: tuple[int, int] | None = (0, 0)  # no model reads or writes

    def __init__(self, embedder: Embedder, sentences: int = 2, min_similarity: float = 0.3):
        self._embedder = embedder
        self._count = sentences
        self._min = min_similarity

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield self.generate(question, passages)

    def generate(self, question: str, passages: Sequence[Passage]) -> str:
        candidates = [
            (n, as_data(s.strip()))  # a "[2]" in the document is no citation of ours
            for n, p in enumerate(passages, start=1)
            for s in _SENTENCE.findall(p.text)
            if len(s.split()) >= 4
        ]
        if not candidates:
            return REFUSAL
        vectors = self._embedder.embed([question] + [s for _, s in candidates])
        similarity = vectors[1:] @ vectors[0]
        best = [i for i in np.argsort(-similarity)[: self._count] if similarity[i] >= self._min]
        if not best:
            return REFUSAL
        chosen = sorted(best)  # keep document order
        return " ".join(_cited(*candidates[i]) for i in chosen)


def _cited(number: int, sentence: str) -> str:
    if sentence[-1] in ".!?":
        return f"{sentence[:-1]} [{number}]{sentence[-1]}"
    return f"{sentence} [{number}]."
