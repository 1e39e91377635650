"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from rag.index.collections import DEFAULT
from rag.service.deps import LibraryDep
from rag.service.schemas import Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=None,
    responses={
        200: {"model": Readiness},
        503: {"model": Readiness, "description": "not ready: the reason says why"},
    },
)
def readyz(library: LibraryDep) -> dict[str, object] | JSONResponse:
    """The models and the `default` collection's index are loaded (the other
    collections are not named here, where no key is asked for)."""
    holder = library.get(DEFAULT).holder
    if holder.generation is None:
        reason = holder.last_error or "no index generation loaded yet"
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
    return {"status": "ready", "generation": holder.generation}
