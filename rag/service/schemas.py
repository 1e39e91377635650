"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.retrieval.filters import Filters
from rag.retrieval.fusion import FusionMode


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
        None, description="rrf, minmax, dense or sparse; default retrieval.mode (rrf)."
    )
    filters: SearchFilters = Field(default_factory=SearchFilters)


class Turn(_Strict):
    role: str = Field(..., pattern="^(user|assistant)$")
    content: str = Field(..., max_length=20000)


class QueryRequest(_Question):
    top_k: int | None = Field(None, ge=1, le=20, description="Passages given to the generator.")
    mode: FusionMode | None = Field(None, description="Retrieval fusion mode.")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    generator: str | None = Field(
        None,
        pattern="^(local|openai|extractive)$",
        description="local LLM, the configured OpenAI-compatible server, or extractive.",
    )
    stream: bool = Field(False, description="Server-sent events: tokens, then the answer.")
    query_transform: str | None = Field(
        None, pattern="^(none|multi-query|hyde)$", description="LLM query rewriting."
    )
    history: list[Turn] = Field(
        default_factory=list,
        max_length=20,
        description="Earlier turns; the question is condensed into a standalone one first.",
    )


class RetrieverScore(BaseModel):
    rank: int
    score: float


class SearchResult(BaseModel):
    rank: int
    chunk_id: str
    doc_id: str
    title: str
    source: str
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int
    heading_path: list[str]
    snippet: str
    score: float
    dense: RetrieverScore | None
    sparse: RetrieverScore | None
    rerank_score: float | None


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


class ErrorBody(BaseModel):
    error: str
    detail: str | list[dict[str, str]] | None = None
    id: str | None = None
