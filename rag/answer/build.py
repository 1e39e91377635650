"""Assembling an `Answerer` from settings: generator, judge, retriever."""

from __future__ import annotations

from rag.answer.answerer import Answerer
from rag.answer.evidence import EvidenceSelector
from rag.answer.generators import ExtractiveGenerator, Generator, LocalGenerator
from rag.answer.remote import FallbackGenerator, OpenAIGenerator
from rag.answer.transforms import make_transform
from rag.answer.verify import LLMSupportJudge
from rag.embedding import Embedder
from rag.index.terms import TermAnalyzer
from rag.llm.lazy import LazyLLM
from rag.modes import GeneratorKind, QueryTransformKind
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import Settings


class LazyJudge:
    def __init__(self, llm: LazyLLM) -> None:
        self._llm = llm

    def support(self, claim: str, passage: str) -> float:
        return LLMSupportJudge(self._llm.tasks).support(claim, passage)


def make_generator(settings: Settings, embedder: Embedder, llm: LazyLLM) -> Generator:
    extractive = ExtractiveGenerator(embedder)
    if settings.answer.generator is GeneratorKind.EXTRACTIVE:
        return extractive
    if settings.answer.generator is GeneratorKind.OPENAI:
        remote = OpenAIGenerator(settings.openai, settings.answer.max_tokens)
        return FallbackGenerator(remote, extractive)
    return FallbackGenerator(
        LocalGenerator(lambda: llm.model, settings.answer.max_tokens, settings.llm.deadline_s),
        extractive,
    )


def make_answerer(
    settings: Settings, retriever: HybridRetriever, embedder: Embedder, llm: LazyLLM
) -> Answerer:
    transform = None
    if settings.answer.query_transform is not QueryTransformKind.NONE:
        transform = make_transform(settings.answer.query_transform, llm.tasks)
    analyzer = TermAnalyzer(settings.tokenizer)
    chars = settings.answer.evidence_chars
    return Answerer(
        retriever,
        make_generator(settings, embedder, llm),
        LazyJudge(llm),
        analyzer,
        settings.answer,
        transform,
        EvidenceSelector(embedder, analyzer, chars) if chars else None,
    )
