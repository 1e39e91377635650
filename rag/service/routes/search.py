"""POST /v1/search: hybrid retrieval with per-stage timings."""

from __future__ import annotations

from fastapi import APIRouter, Request

from rag.answer.serialize import location_of
from rag.errors import ConfigError
from rag.retrieval.hybrid import Retrieved, SearchOutcome
from rag.retrieval.passages import Passage
from rag.service.auth import Principal
from rag.service.deps import LibraryDep, MetricsDep, UserDep
from rag.service.library import Library
from rag.service.schemas import (
    BAD_BODY,
    KEY_REFUSED,
    NO_INDEX,
    NOT_FOUND,
    UNEXPECTED,
    RetrieverScore,
    SearchRequest,
    SearchResponse,
    SearchResult,
    ViaSummary,
)
from rag.settings import Settings

router = APIRouter(prefix="/v1", tags=["search"], responses=UNEXPECTED)


@router.post("/search", responses={**KEY_REFUSED, **BAD_BODY, **NOT_FOUND, **NO_INDEX})
def search(
    body: SearchRequest,
    request: Request,
    library: LibraryDep,
    metrics: MetricsDep,
    principal: UserDep,
) -> SearchResponse:
    """Ranked chunks for a question, with each retriever's rank and score."""
    response, outcome = run_search(body, library, principal)
    for stage, ms in outcome.timings_ms.items():
        metrics.stages.labels(stage).observe(ms / 1000)
    request.state.log_fields = {
        "generation": response.generation,
        "mode": outcome.mode.value,
        "results": len(response.results),
        "stages_ms": response.timings_ms,
    }
    return response


def run_search(
    body: SearchRequest, library: Library, principal: Principal
) -> tuple[SearchResponse, SearchOutcome]:
    """The search of `body` on the live generation of its collection (the
    route's, and MCP's `search` tool)."""
    collection = library.for_reader(principal, body.collection)
    settings, holder = collection.settings, collection.holder
    top_k = body.top_k or settings.retrieval.top_k
    mode = body.mode or settings.retrieval.mode
    check_limits(body.question, top_k, settings)
    filters = body.filters.to_filters()
    with holder.acquire() as live:
        outcome = live.retriever.search(body.question, top_k, mode, filters)
        passages = live.retriever.passages([h.position for h in outcome.hits])
        vias = sorted({h.via for h in outcome.hits if h.via is not None})
        summaries = {p.position: p for p in live.retriever.passages(vias)}
        generation = live.generation
    results = [
        _result(rank, hit, p, summaries)
        for rank, (hit, p) in enumerate(zip(outcome.hits, passages, strict=True), start=1)
    ]
    response = SearchResponse(
        generation=generation,
        mode=outcome.mode,
        results=results,
        timings_ms=_rounded(outcome.timings_ms),
    )
    return response, outcome


def check_limits(question: str, top_k: int, settings: Settings) -> None:
    limit = settings.retrieval.max_top_k
    if top_k > limit:
        raise ConfigError(
            f"top_k={top_k} is over the limit of {limit}", f"ask for at most {limit} results"
        )
    chars = settings.service.max_question_chars
    if len(question) > chars:
        raise ConfigError(
            f"question of {len(question)} characters is over {chars}", "shorten the question"
        )


def _result(
    rank: int, hit: Retrieved, passage: Passage, summaries: dict[int, Passage]
) -> SearchResult:
    summary = summaries.get(hit.via) if hit.via is not None else None
    return SearchResult(
        rank=rank,
        **location_of(passage),
        char_start=passage.char_start,
        char_end=passage.char_end,
        heading_path=list(passage.heading_path),
        snippet=passage.text,
        score=hit.score,
        dense=RetrieverScore(rank=hit.dense.rank, score=hit.dense.score) if hit.dense else None,
        sparse=RetrieverScore(rank=hit.sparse.rank, score=hit.sparse.score) if hit.sparse else None,
        rerank_score=hit.rerank_score,
        via_summary=ViaSummary(chunk_id=summary.chunk_id, text=summary.text) if summary else None,
    )


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {stage: round(ms, 3) for stage, ms in timings.items()}
