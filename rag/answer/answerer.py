"""From a question to a grounded, checked answer, or a refusal.

1. Retrieve; refuse without generating when nothing relevant enough came back
   (best passage's cosine below `answer.min_relevance`).
2. Cut each passage to the sentences that bear on the question (the evidence).
3. Generate with the numbered excerpts; a model reply of "I don't know" refuses.
4. Parse citations: markers naming passages not shown are removed and reported.
5. Verify each sentence against the passages it cites; unsupported sentences
   are flagged (or dropped, by setting). No supported sentence: refuse.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rag.answer.citations import carry_back, parse_answer, render
from rag.answer.evidence import EvidenceSelector
from rag.answer.generators import Generator
from rag.answer.prompt import is_refusal
from rag.answer.verify import SupportJudge, Verdict, supporting_span, verify
from rag.errors import RagError
from rag.index.terms import TermAnalyzer
from rag.modes import DEFAULT_FUSION, FusionMode
from rag.retrieval.filters import Filters
from rag.retrieval.hybrid import HybridRetriever, Retrieved
from rag.retrieval.passages import Passage
from rag.retrieval.rewrite import QueryTransform
from rag.settings import AnswerSettings

NOT_FOUND = "The documents do not contain an answer to this question."


@dataclass(frozen=True)
class Citation:
    marker: int
    passage: Passage
    span_start: int  # character span of the supporting text in the document
    span_end: int
    supporting_text: str


@dataclass(frozen=True)
class Shown:
    """Streamed before the draft: the passages (evidence excerpts) the generator
    reads, numbered from 1 as its markers cite them."""

    passages: tuple[Passage, ...]


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    reason: str | None
    citations: list[Citation]
    verdicts: list[Verdict]
    passages: list[Passage]
    hits: list[Retrieved]
    invalid_markers: list[int]
    draft: str
    generator: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    fallback_reason: str | None = None
    supports: list[list[Citation]] = field(default_factory=list)  # per verdict
    usage: tuple[int, int] | None = None  # tokens the model read and wrote; None unknown


class Answerer:
    def __init__(
        self,
        retriever: HybridRetriever,
        generator: Generator,
        judge: SupportJudge,
        analyzer: TermAnalyzer,
        settings: AnswerSettings,
        transform: QueryTransform | None = None,
        evidence: EvidenceSelector | None = None,
    ) -> None:
        self._transform = transform
        self._evidence = evidence
        self._retriever = retriever
        self._generator = generator
        self._judge = judge
        self._analyzer = analyzer
        self._settings = settings

    def answer(
        self, question: str, mode: FusionMode = DEFAULT_FUSION, filters: Filters | None = None
    ) -> Answer:
        result = None
        for event in self.stream(question, mode, filters):
            if isinstance(event, Answer):
                result = event
        assert result is not None
        return result

    def stream(
        self, question: str, mode: FusionMode = DEFAULT_FUSION, filters: Filters | None = None
    ) -> Iterator[str | Shown | Answer]:
        """The passages shown, answer text pieces as they are generated, then the
        checked `Answer` (only the `Answer` when the gate refuses)."""
        clock: dict[str, float] = {}
        started = time.perf_counter()
        outcome = self._retriever.search(
            question, self._settings.passages, mode, filters, self._transform
        )
        hits = outcome.hits
        passages = self._retriever.passages([h.position for h in hits])
        clock["retrieve"] = _ms(started)
        result = Answer(
            question,
            NOT_FOUND,
            True,
            None,
            [],
            [],
            passages,
            hits,
            [],
            "",
            self._generator.name,
            clock,
        )
        best = best_relevance(hits)
        if not passages or best < self._settings.min_relevance:
            result.reason = f"no passage is relevant enough (best similarity {best:.2f})"
            yield result
            return
        started = time.perf_counter()
        if self._evidence is not None:
            passages = result.passages = self._evidence.select(question, passages)
            clock["evidence"] = _ms(started)
        yield Shown(tuple(passages))
        started = time.perf_counter()
        pieces = []
        for piece in self._generator.stream(question, passages):
            clock.setdefault("first_token", _ms(started))
            pieces.append(piece)
            yield piece
        result.draft = "".join(pieces)
        clock["generate"] = _ms(started)
        result.generator = self._generator.name
        result.fallback_reason = getattr(self._generator, "fallback_reason", None)
        result.usage = getattr(self._generator, "usage", None)
        if is_refusal(result.draft):
            result.reason = "the generator found no answer in the passages"
        else:
            started = time.perf_counter()
            self._check(result)
            clock["verify"] = _ms(started)
        yield result

    def _check(self, result: Answer) -> None:
        parsed = parse_answer(result.draft, len(result.passages))
        result.invalid_markers = list(parsed.invalid)
        sentences = carry_back(parsed.sentences)
        try:
            result.verdicts = verify(
                sentences,
                result.passages,
                self._judge,
                self._analyzer,
                self._settings.support_threshold,
            )
        except RagError as error:  # an unchecked draft is never presented as an answer
            result.reason = f"the citations could not be checked: {error}"
            return
        kept = [v for v in result.verdicts if v.supported or not self._settings.drop_unsupported]
        if not any(v.supported for v in kept):
            result.reason = "no sentence of the draft is supported by the passages it cites"
            return
        result.refused = False
        result.answer = render([v.sentence for v in kept])
        result.citations = self._citations(kept, result.passages)
        result.supports = [self._supports(v, result.passages) for v in result.verdicts]

    def _supports(self, verdict: Verdict, passages: list[Passage]) -> list[Citation]:
        """For each marker of a sentence, the passage sentence that best supports it."""
        found = []
        for marker in verdict.sentence.markers:
            passage = passages[marker - 1]
            start, end = supporting_span(verdict.sentence.text, passage.text, self._analyzer)
            found.append(
                Citation(
                    marker,
                    passage,
                    passage.document_offset(start),
                    passage.document_offset(end),
                    passage.text[start:end],
                )
            )
        return found

    def _citations(self, verdicts: list[Verdict], passages: list[Passage]) -> list[Citation]:
        """One citation per marker used, with the span backing its first sentence."""
        citations: dict[int, Citation] = {}
        for verdict in verdicts:
            for citation in self._supports(verdict, passages):
                citations.setdefault(citation.marker, citation)
        return [citations[m] for m in sorted(citations)]


def best_relevance(hits: list[Retrieved]) -> float:
    """What the refusal gate compares with `answer.min_relevance`: the best passage's
    cosine similarity to the question (-1 when no passage came from the dense side)."""
    return max((h.dense.score for h in hits if h.dense), default=-1.0)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
