"""Admin routes: open the newest index generation now."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from rag.service.deps import AdminDep, HolderDep
from rag.service.schemas import ReloadResponse

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/reload")
async def reload(holder: HolderDep, _: AdminDep) -> ReloadResponse:
    """Swap to the generation CURRENT names; a bad one is refused and the old one kept."""
    swapped = await run_in_threadpool(holder.reload)
    return ReloadResponse(generation=holder.generation, swapped=swapped)
