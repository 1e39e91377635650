"""Documents in the live index: list, detail, delete (admin)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from rag.service.deps import AdminCollectionDep, ReadDep
from rag.service.holder import IndexHolder
from rag.service.schemas import (
    ADMIN_REFUSED,
    BAD_QUERY,
    INDEX_BUSY,
    KEY_REFUSED,
    NO_INDEX,
    NOT_FOUND,
    UNEXPECTED,
    ChunkSummary,
    DeleteResponse,
    DocumentDetail,
    DocumentList,
    DocumentSummary,
)

router = APIRouter(prefix="/v1/documents", tags=["documents"], responses=UNEXPECTED)


@router.get("", responses={**KEY_REFUSED, **BAD_QUERY, **NOT_FOUND, **NO_INDEX})
def list_documents_route(
    collection: ReadDep,
    limit: int = Query(100, ge=1, le=10000),
    offset: int = Query(0, ge=0),
) -> DocumentList:
    """Indexed documents of a collection, in source order."""
    return list_documents(collection.holder, limit, offset)


def list_documents(holder: IndexHolder, limit: int, offset: int) -> DocumentList:
    """A page of the documents (the route's, and MCP's `list_documents` tool)."""
    with holder.acquire() as live:
        rows = live.retriever.store.document_summaries()
        generation = live.generation
    page = rows[offset : offset + limit]
    return DocumentList(
        generation=generation,
        total=len(rows),
        documents=[
            DocumentSummary(
                doc_id=r.doc_id,
                title=r.title,
                source=r.source_path,
                chunks=r.n_chunks,
                metadata=dict(r.metadata),
            )
            for r in page
        ],
    )


@router.get("/{doc_id}", responses={**KEY_REFUSED, **BAD_QUERY, **NOT_FOUND, **NO_INDEX})
def get_document_route(doc_id: str, collection: ReadDep) -> DocumentDetail:
    """One document's metadata and its chunks."""
    return get_document(doc_id, collection.holder)


def get_document(doc_id: str, holder: IndexHolder) -> DocumentDetail:
    """One document (the route's, and MCP's `get_document` tool)."""
    with holder.acquire() as live:
        store = live.retriever.store
        row = store.document_heads([doc_id]).get(doc_id)
        chunks = store.chunks_of(doc_id) if row else []
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "no such document: GET /v1/documents lists the ids"
        )
    return DocumentDetail(
        doc_id=doc_id,
        title=row.title,
        source=row.source_path,
        source_key=row.source_key,
        content_hash=row.content_hash,
        metadata=dict(row.metadata),
        warnings=list(row.warnings),
        chunks=[
            ChunkSummary(
                chunk_id=c.chunk_id,
                ordinal=c.ordinal,
                page_start=c.page_start,
                page_end=c.page_end,
                char_start=c.char_start,
                char_end=c.char_end,
                heading_path=list(c.heading_path),
                tokens=c.n_tokens,
                text=c.text,
            )
            for c in chunks
        ],
    )


@router.delete(
    "/{doc_id}", responses={**ADMIN_REFUSED, **BAD_QUERY, **NOT_FOUND, **INDEX_BUSY, **NO_INDEX}
)
async def delete_document(doc_id: str, collection: AdminCollectionDep) -> DeleteResponse:
    """Remove a document: a new index generation without it, then swap to it."""
    from ingest.remove import remove_documents

    holder, settings = collection.holder, collection.settings
    with holder.acquire() as live:
        known = live.retriever.store.document_heads([doc_id])
    if not known:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such document")
    removed = await run_in_threadpool(remove_documents, settings, [doc_id])
    await run_in_threadpool(holder.reload)
    return DeleteResponse(removed=removed, generation=holder.generation)
