"""Query transforms built on the LLM, and condensing a conversation.

- multi-query: the LLM writes up to three rephrasings; the question and each
  rephrasing are searched and all rankings fused with RRF.
- hyde: the LLM drafts a short hypothetical answer; the question and the
  draft are both searched and fused (the draft is never shown as an answer).
- history: a follow-up question is rewritten as a standalone one first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from rag.llm.base import Message
from rag.modes import QueryTransformKind
from rag.retrieval.rewrite import QueryTransform, Unchanged

MAX_VARIANTS = 3


class ChatModel(Protocol):
    def chat(self, messages: Sequence[Message], max_tokens: int | None = None) -> str: ...


class MultiQuery:
    def __init__(self, llm: ChatModel) -> None:
        self._llm = llm

    def queries(self, question: str) -> list[str]:
        prompt = (
            f"Write {MAX_VARIANTS} different search queries that would find passages "
            f"answering this question. One per line, no numbering.\n\nQuestion: {question}"
        )
        reply = self._llm.chat([{"role": "user", "content": prompt}], 96)
        variants = [re.sub(r"^[\s\-*\d.)]+", "", line).strip() for line in reply.splitlines()]
        unique = [v for v in dict.fromkeys(variants) if v and v.lower() != question.lower()]
        return [question, *unique[:MAX_VARIANTS]]


class Hyde:
    def __init__(self, llm: ChatModel) -> None:
        self._llm = llm

    def queries(self, question: str) -> list[str]:
        prompt = (
            "Write a short, factual passage (two sentences) that answers the question.\n\n"
            f"Question: {question}"
        )
        draft = self._llm.chat([{"role": "user", "content": prompt}], 96).strip()
        return [question, draft] if draft else [question]


def make_transform(kind: QueryTransformKind, llm: ChatModel) -> QueryTransform:
    if kind is QueryTransformKind.MULTI_QUERY:
        return MultiQuery(llm)
    if kind is QueryTransformKind.HYDE:
        return Hyde(llm)
    return Unchanged()


def condense(question: str, history: Sequence[Message], llm: ChatModel) -> str:
    """The follow-up `question` as a standalone question, using the conversation."""
    if not history:
        return question
    turns = "\n".join(f"{m['role']}: {m['content']}" for m in history[-6:])
    prompt = (
        "Rewrite the follow-up question so that it can be understood without the "
        "conversation. Reply with the question only.\n\n"
        f"Conversation:\n{turns}\n\nFollow-up question: {question}"
    )
    standalone = llm.chat([{"role": "user", "content": prompt}], 64).strip().splitlines()
    return standalone[0].strip() if standalone and standalone[0].strip() else question
