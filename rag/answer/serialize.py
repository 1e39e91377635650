"""An `Answer` as plain JSON-ready data, shared by `rag ask --json` and the API."""

from __future__ import annotations

from typing import Any

from rag.answer.answerer import Answer, Citation
from rag.retrieval.passages import Passage


def passage_data(number: int, passage: Passage) -> dict[str, Any]:
    return {
        "number": number,
        "chunk_id": passage.chunk_id,
        "doc_id": passage.doc_id,
        "title": passage.title,
        "source": passage.source_path,
        "page_start": passage.page_start,
        "page_end": passage.page_end,
        "char_start": passage.char_start,
        "char_end": passage.char_end,
        "text": passage.text,
    }


def span_data(citation: Citation) -> dict[str, Any]:
    """The supporting span in document characters and the pages it lies on
    (None for a document without page numbers)."""
    first, last = citation.passage.span_pages(citation.span_start, citation.span_end)
    return {
        "span": [citation.span_start, citation.span_end],
        "span_page_start": first,
        "span_page_end": last,
    }


def answer_data(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.answer,
        "refused": answer.refused,
        "reason": answer.reason,
        "citations": [
            {
                "marker": c.marker,
                "chunk_id": c.passage.chunk_id,
                "doc_id": c.passage.doc_id,
                "title": c.passage.title,
                "source": c.passage.source_path,
                "page_start": c.passage.page_start,
                "page_end": c.passage.page_end,
                **span_data(c),
                "supporting_text": c.supporting_text,
                "snippet": c.passage.text,
            }
            for c in answer.citations
        ],
        "sentences": [
            {
                "text": v.sentence.text,
                "citations": list(v.sentence.markers),
                "supported": v.supported,
                "score": round(v.score, 4),
                "method": v.method,
                "supports": [
                    {
                        "marker": c.marker,
                        **span_data(c),
                        "text": c.supporting_text,
                    }
                    for c in (answer.supports[i] if i < len(answer.supports) else [])
                ],
            }
            for i, v in enumerate(answer.verdicts)
        ],
        "invalid_markers": answer.invalid_markers,
        "passages": [passage_data(n, p) for n, p in enumerate(answer.passages, start=1)],
        "draft": answer.draft,
        "generator": answer.generator,
        "fallback_reason": answer.fallback_reason,
        "timings_ms": answer.timings_ms,
    }
