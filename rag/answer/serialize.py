"""An `Answer` as its JSON schema: one set of models for `rag ask --json` and
the API (`rag.service.schemas.AnswerBody` adds the index generation)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from rag.answer.answerer import Answer, Citation
from rag.answer.verify import Verdict
from rag.retrieval.passages import Passage


class Location(BaseModel):
    """Where a passage lies: its chunk, its document and the pages it spans."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    page_start: int | None
    page_end: int | None
    ocr_pages: list[int] = Field(
        default_factory=list, description="its pages whose text was read by OCR from a scan"
    )


def location_of(passage: Passage) -> dict[str, Any]:
    """The `Location` fields of a passage."""
    return {
        "chunk_id": passage.chunk_id,
        "doc_id": passage.doc_id,
        "title": passage.title,
        "source": passage.source_path,
        "page_start": passage.page_start,
        "page_end": passage.page_end,
        "ocr_pages": passage.ocr_pages(),
    }


class Span(BaseModel):
    """A supporting span in document characters, and the pages it lies on."""

    span: list[int] = Field(..., min_length=2, max_length=2)
    span_page_start: int | None = Field(..., description="first page of the span; null unpaged")
    span_page_end: int | None = Field(..., description="last page of the span; null unpaged")
    ocr: bool = Field(
        False, description="the span's text was read by OCR from a scanned page: check the page"
    )


def span_of(citation: Citation) -> dict[str, Any]:
    """The `Span` fields of a citation (pages None for a document without them)."""
    first, last = citation.passage.span_pages(citation.span_start, citation.span_end)
    return {
        "span": [citation.span_start, citation.span_end],
        "span_page_start": first,
        "span_page_end": last,
        "ocr": bool(citation.passage.ocr_pages(first, last)) if first is not None else False,
    }


class PassageBody(Location):
    number: int
    char_start: int
    char_end: int
    text: str

    @classmethod
    def of(cls, number: int, passage: Passage) -> PassageBody:
        return cls(
            number=number,
            char_start=passage.char_start,
            char_end=passage.char_end,
            text=passage.text,
            **location_of(passage),
        )


class CitationBody(Location, Span):
    marker: int
    supporting_text: str
    snippet: str

    @classmethod
    def of(cls, citation: Citation) -> CitationBody:
        return cls(
            marker=citation.marker,
            supporting_text=citation.supporting_text,
            snippet=citation.passage.text,
            **location_of(citation.passage),
            **span_of(citation),
        )


class SupportBody(Span):
    marker: int
    text: str

    @classmethod
    def of(cls, citation: Citation) -> SupportBody:
        return cls(marker=citation.marker, text=citation.supporting_text, **span_of(citation))


class SentenceBody(BaseModel):
    text: str
    citations: list[int]
    supported: bool
    score: float
    method: str
    supports: list[SupportBody]

    @classmethod
    def of(cls, verdict: Verdict, supports: list[Citation]) -> SentenceBody:
        return cls(
            text=verdict.sentence.text,
            citations=list(verdict.sentence.markers),
            supported=verdict.supported,
            score=round(verdict.score, 4),
            method=verdict.method,
            supports=[SupportBody.of(c) for c in supports],
        )


class AnswerData(BaseModel):
    """The checked answer."""

    question: str
    answer: str
    refused: bool
    reason: str | None
    citations: list[CitationBody]
    sentences: list[SentenceBody]
    invalid_markers: list[int]
    passages: list[PassageBody]
    draft: str
    generator: str
    fallback_reason: str | None
    timings_ms: dict[str, float]

    @staticmethod
    def fields(answer: Answer) -> dict[str, Any]:
        n = len(answer.verdicts)
        supports = [answer.supports[i] if i < len(answer.supports) else [] for i in range(n)]
        return {
            "question": answer.question,
            "answer": answer.answer,
            "refused": answer.refused,
            "reason": answer.reason,
            "citations": [CitationBody.of(c) for c in answer.citations],
            "sentences": [
                SentenceBody.of(v, s) for v, s in zip(answer.verdicts, supports, strict=True)
            ],
            "invalid_markers": answer.invalid_markers,
            "passages": [PassageBody.of(n, p) for n, p in enumerate(answer.passages, start=1)],
            "draft": answer.draft,
            "generator": answer.generator,
            "fallback_reason": answer.fallback_reason,
            "timings_ms": answer.timings_ms,
        }

    @classmethod
    def of(cls, answer: Answer) -> AnswerData:
        return cls(**cls.fields(answer))


def answer_data(answer: Answer) -> dict[str, Any]:
    """The answer as JSON-ready data (`rag ask --json`)."""
    return AnswerData.of(answer).model_dump(mode="json")
