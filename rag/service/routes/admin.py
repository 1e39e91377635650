"""Admin routes: open the newest index generation now."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from rag.service.deps import AdminCollectionDep
from rag.service.schemas import (
    ADMIN_REFUSED,
    BAD_QUERY,
    INDEX_BUSY,
    NO_INDEX,
    NOT_FOUND,
    UNEXPECTED,
    ReloadResponse,
)

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=UNEXPECTED)


@router.post(
    "/reload", responses={**ADMIN_REFUSED, **BAD_QUERY, **NOT_FOUND, **INDEX_BUSY, **NO_INDEX}
)
async def reload(collection: AdminCollectionDep) -> ReloadResponse:
    """Swap a collection to the generation its CURRENT names; a bad one is
    refused and the old one kept."""
    holder = collection.holder
    swapped = await run_in_threadpool(holder.reload)
    return ReloadResponse(generation=holder.generation, swapped=swapped)
