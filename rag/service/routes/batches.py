"""OpenAI's Files and Batch API for chat requests (`rag.service.batches`):
`POST /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`,
`POST /v1/batches`, `GET /v1/batches`, `GET /v1/batches/{id}` and
`POST /v1/batches/{id}/cancel`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from rag.errors import RagError
from rag.service.auth import principal_of_digest
from rag.service.batches import BatchNotFoundError, BatchRefusedError, BatchStore
from rag.service.deps import Models, UserDep
from rag.service.errors import status_of
from rag.service.library import Library
from rag.service.openai_schemas import ChatRequest, error_body
from rag.service.routes.chat import ERRORS, collection_of, complete

router = APIRouter(prefix="/v1", tags=["openai"], responses=ERRORS)


class BatchRequest(BaseModel):
    input_file_id: str = Field(..., max_length=64)
    endpoint: str = Field(..., max_length=64)
    completion_window: str = Field("24h", max_length=16)
    metadata: dict[str, str] | None = None


def store_of(request: Request) -> BatchStore:
    store: BatchStore = request.app.state.batches
    return store


def line_runner(
    library: Library, models: Models
) -> Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]:
    """Answers one batch line's chat request as the chat route would for the
    key that made the batch (as it is configured now), never raising."""

    def run(owner: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            chat = ChatRequest.model_validate({**body, "stream": False})
            principal = principal_of_digest(owner, library.root.service)
            collection = collection_of(chat.model, library, principal)
            return 200, complete(chat, collection, models)
        except ValidationError as error:
            return 400, error_body(f"invalid request: {error}", "invalid_request_error")
        except HTTPException as error:
            return error.status_code, error_body(str(error.detail), "invalid_request_error")
        except RagError as error:
            return status_of(error), error_body(str(error), "invalid_request_error")

    return run


def _found(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except BatchNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except BatchRefusedError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None


@router.post("/files")
async def upload(
    request: Request,
    principal: UserDep,
    file: Annotated[UploadFile, File(description="JSON lines of chat requests")],
    purpose: Annotated[str, Form(max_length=32)] = "batch",
) -> dict[str, Any]:
    """Store a file of requests for a batch."""
    store = store_of(request)
    data = await file.read(store.max_bytes + 1)
    name = file.filename or "upload.jsonl"
    stored = _found(lambda: store.add_file(principal.owner, name, purpose, data))
    return dict(stored.data())


@router.get("/files/{file_id}")
def file_info(file_id: str, request: Request, principal: UserDep) -> dict[str, Any]:
    return dict(_found(lambda: store_of(request).file(file_id, principal.owner)).data())


@router.get("/files/{file_id}/content", response_class=Response)
def file_content(file_id: str, request: Request, principal: UserDep) -> Response:
    data = _found(lambda: store_of(request).content(file_id, principal.owner))
    return Response(data, media_type="application/jsonl")


@router.post("/batches")
def create_batch(body: BatchRequest, request: Request, principal: UserDep) -> dict[str, Any]:
    """Answer every line of an uploaded file in the background, one at a time."""
    store = store_of(request)
    batch = _found(
        lambda: store.create(
            principal.owner,
            body.input_file_id,
            body.endpoint,
            body.completion_window,
            body.metadata,
        )
    )
    return dict(batch.data())


@router.get("/batches")
def list_batches(request: Request, principal: UserDep) -> dict[str, Any]:
    data = [b.data() for b in store_of(request).all(principal.owner)]
    return {"object": "list", "data": data, "has_more": False}


@router.get("/batches/{batch_id}")
def get_batch(batch_id: str, request: Request, principal: UserDep) -> dict[str, Any]:
    return dict(_found(lambda: store_of(request).get(batch_id, principal.owner)).data())


@router.post("/batches/{batch_id}/cancel")
def cancel_batch(batch_id: str, request: Request, principal: UserDep) -> dict[str, Any]:
    return dict(_found(lambda: store_of(request).cancel(batch_id, principal.owner)).data())
