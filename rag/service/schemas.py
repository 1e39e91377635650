"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.answer.answerer import Answer
from rag.answer.serialize import AnswerData, Location
from rag.modes import FusionMode, GeneratorKind, QueryTransformKind
from rag.retrieval.filters import Filters


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchFilters(_Strict):
    doc_ids: list[str] = Field(
        default_factory=list, max_length=1000, description="Only these documents."
    )
    source_prefix: str | None = Field(
        None, max_length=4096, description="Only documents whose source path starts so."
    )
    metadata: dict[str, str] = Field(
        default_factory=dict,
        max_length=32,
        description="Document metadata key = value, all must match.",
    )
    exclude_doc_ids: list[str] = Field(
        default_factory=list, max_length=1000, description="Leave these documents out."
    )

    def to_filters(self) -> Filters:
        return Filters(
            tuple(self.doc_ids), self.source_prefix, self.metadata, tuple(self.exclude_doc_ids)
        )


class _Question(_Strict):
    question: str = Field(..., min_length=1, max_length=20000)
    collection: str | None = Field(
        None,
        max_length=64,
        description="The collection to ask (default: the key's only collection, else `default`).",
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is blank: send the text of a question")
        return value


class SearchRequest(_Question):
    top_k: int | None = Field(
        None, ge=1, description="Results to return; default retrieval.top_k, at most max_top_k."
    )
    mode: FusionMode | None = Field(
        None, description="rrf, minmax, dense or sparse; default retrieval.mode (minmax)."
    )
    filters: SearchFilters = Field(default_factory=SearchFilters)


class Turn(_Strict):
    role: str = Field(..., pattern="^(user|assistant)$")
    content: str = Field(..., max_length=20000)


class QueryRequest(_Question):
    top_k: int | None = Field(None, ge=1, le=20, description="Passages given to the generator.")
    mode: FusionMode | None = Field(None, description="Retrieval fusion mode.")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    generator: GeneratorKind | None = Field(
        None, description="local LLM, the configured OpenAI-compatible server, or extractive."
    )
    stream: bool = Field(False, description="Server-sent events: tokens, then the answer.")
    query_transform: QueryTransformKind | None = Field(None, description="LLM query rewriting.")
    history: list[Turn] = Field(
        default_factory=list,
        max_length=20,
        description="Earlier turns; the question is condensed into a standalone one first.",
    )


class RetrieverScore(BaseModel):
    rank: int
    score: float


class ViaSummary(BaseModel):
    """The RAPTOR summary whose hit brought this chunk (LLM-written: not evidence)."""

    chunk_id: str
    text: str


class SearchResult(Location):
    rank: int
    char_start: int
    char_end: int
    heading_path: list[str]
    snippet: str
    score: float
    dense: RetrieverScore | None
    sparse: RetrieverScore | None
    rerank_score: float | None
    via_summary: ViaSummary | None = None


class SearchResponse(BaseModel):
    generation: int
    mode: FusionMode
    results: list[SearchResult]
    timings_ms: dict[str, float]


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    chunks: int
    metadata: dict[str, str]


class DocumentList(BaseModel):
    generation: int
    total: int
    documents: list[DocumentSummary]


class ChunkSummary(BaseModel):
    chunk_id: str
    ordinal: int
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int
    heading_path: list[str]
    tokens: int
    text: str


class DocumentDetail(BaseModel):
    doc_id: str
    title: str
    source: str
    source_key: str
    content_hash: str
    metadata: dict[str, str]
    warnings: list[str]
    chunks: list[ChunkSummary]


class ReloadResponse(BaseModel):
    generation: int | None
    swapped: bool


class DeleteResponse(BaseModel):
    removed: list[str]
    generation: int | None


class CollectionSummary(BaseModel):
    name: str
    documents: int | None = Field(None, description="None while no generation is loaded")
    chunks: int | None = None
    generation: int | None = None


class CollectionList(BaseModel):
    collections: list[CollectionSummary]


class JobProgress(BaseModel):
    phase: str | None = Field(None, description="scanning, loading, embedding, writing, ...")
    files: int
    files_read: int
    files_failed: int
    chunks_embedded: int


class JobBody(BaseModel):
    """An ingest job: `GET /v1/jobs/{id}` until `status` is succeeded or failed."""

    id: str
    collection: str
    status: str = Field(..., description="queued, running, succeeded or failed")
    created_at: float
    finished_at: float | None
    progress: JobProgress
    result: dict[str, Any] | None = Field(
        None, description="The ingest report (as `rag ingest --json`): per-file failures"
    )
    error: str | None = None


class CollectionDeleted(BaseModel):
    deleted: str


class ErrorBody(BaseModel):
    error: str
    detail: str | list[dict[str, str]] | None = None
    id: str | None = None


class MessageBody(BaseModel):
    """FastAPI's body for a refused key (401, 403), an unknown id (404) or a body
    that is not UTF-8 (400)."""

    detail: str


class Readiness(BaseModel):
    status: str = Field(..., description="ready, or not ready (with status 503)")
    generation: int | None = None
    reason: str | None = None


class AnswerBody(AnswerData):
    """The checked answer and the index generation its passages came from: also
    the `answer` event of a streamed reply."""

    generation: int

    @classmethod
    def served(cls, answer: Answer, generation: int) -> AnswerBody:
        return cls(**AnswerData.fields(answer), generation=generation)


Responses = dict[int | str, dict[str, Any]]


def _error(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"model": model, "description": description}


# Error responses as the routes declare them, so the OpenAPI schema lists every
# status a route can answer (schemathesis checks it: tests/service/test_api_fuzz.py).
KEY_REFUSED: Responses = {401: _error(MessageBody, "missing or unknown API key")}
ADMIN_REFUSED: Responses = {**KEY_REFUSED, 403: _error(MessageBody, "a user key on an admin route")}
NO_INDEX: Responses = {503: _error(ErrorBody, "no index generation is loaded")}
NOT_FOUND: Responses = {
    404: _error(MessageBody, "no such document, or no such collection the key may read")
}
BAD_QUERY: Responses = {
    422: _error(ErrorBody, "a field, limit or filter is invalid: the body names it"),
}
BAD_BODY: Responses = {
    **BAD_QUERY,
    400: _error(MessageBody, "the body is not UTF-8"),
    413: _error(ErrorBody, "the body is over service.max_body_bytes"),
}
INDEX_BUSY: Responses = {
    409: _error(ErrorBody, "another ingest holds the index, or a damaged generation")
}
UNEXPECTED: Responses = {500: _error(ErrorBody, "an unexpected error; its id is in the server log")}
