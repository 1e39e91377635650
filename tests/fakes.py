"""Deterministic fakes for fast unit tests; the real model has its own tests.

`WordTokenizer` counts one token per word or punctuation mark, so chunk sizes
can be worked out by hand. `KeywordEmbedder` hashes words into a bag-of-words
vector, so texts sharing words are similar and retrieval results are plain.
`Scripted` is a generator that replies what the test wants, `FixedJudge` a
support judge of one score, `ScriptedChat` a chat model of one reply.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

import numpy as np

from rag.embedding import Offsets, Vectors
from rag.llm.base import Message
from rag.retrieval.passages import Passage

_TOKEN = re.compile(r"\w+|[^\w\s]")


class WordTokenizer:
    def token_offsets(self, text: str) -> Offsets:
        return [(m.start(), m.end()) for m in _TOKEN.finditer(text)]


class KeywordEmbedder(WordTokenizer):
    name = "keyword-hash"  # manifests record settings.embedding.model, not this name
    dimension = 64
    max_tokens = 254

    def __init__(self) -> None:
        self.calls = 0
        self.texts_embedded = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension
                out[row, bucket] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class Scripted:
    """A generator that says what the test wants, invented citations included."""

    name = "scripted"

    def __init__(self, text: str) -> None:
        self.text = text
        self.shown: list[Passage] = []

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        self.shown = list(passages)
        words = self.text.split(" ")
        yield from (w if i == 0 else " " + w for i, w in enumerate(words))


class FixedJudge:
    def __init__(self, score: float) -> None:
        self.score = score
        self.calls = 0

    def support(self, claim: str, passage: str) -> float:
        self.calls += 1
        return self.score


class ScriptedChat:
    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def chat(self, messages: Sequence[Message], max_tokens: int | None = None) -> str:
        self.prompts.append(messages[-1]["content"])
        return self.reply
