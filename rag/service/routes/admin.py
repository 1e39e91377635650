"""Admin routes: open the newest index generation now."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from rag.service.deps import AdminDep, HolderDep
from rag.service.schemas import ADMIN_REFUSED, INDEX_BUSY, NO_INDEX, UNEXPECTED, ReloadResponse

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=UNEXPECTED)


@router.post("/reload", responses={**ADMIN_REFUSED, **INDEX_BUSY, **NO_INDEX})
async def reload(holder: HolderDep, _: AdminDep) -> ReloadResponse:
    """Swap to the generation CURRENT names; a bad one is refused and the old one kept."""
    swapped = await run_in_threadpool(holder.reload)
    return ReloadResponse(generation=holder.generation, swapped=swapped)
