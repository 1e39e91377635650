"""Exceptions to HTTP responses, in one place.

Expected errors map by class to 4xx/503 with a message that says what to fix;
anything unexpected becomes a generic 500 whose id matches a log line.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from rag.errors import (
    CollectionNotFoundError,
    ConfigError,
    GeneratorFailedError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    JobConflictError,
    RagError,
    UploadTooLargeError,
)
from rag.service.openai_schemas import error_body

log = logging.getLogger("rag.service")
# The OpenAI-compatible routes answer errors in OpenAI's shape, as its clients expect.
OPENAI_PATHS = ("/v1/chat/", "/v1/models", "/v1/files", "/v1/batches")
OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
}
OPENAI_CODES = {401: "invalid_api_key", 404: "model_not_found"}

STATUS = {
    ConfigError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    CollectionNotFoundError: status.HTTP_404_NOT_FOUND,
    IndexNotFoundError: status.HTTP_503_SERVICE_UNAVAILABLE,
    IndexLockedError: status.HTTP_409_CONFLICT,
    IndexMismatchError: status.HTTP_409_CONFLICT,
    IndexCorruptError: status.HTTP_409_CONFLICT,
    GeneratorFailedError: status.HTTP_502_BAD_GATEWAY,
    UploadTooLargeError: status.HTTP_413_CONTENT_TOO_LARGE,
    JobConflictError: status.HTTP_409_CONFLICT,
}


def status_of(error: RagError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return status.HTTP_400_BAD_REQUEST


def _openai(request: Request) -> bool:
    return request.url.path.startswith(OPENAI_PATHS)


def openai_error(
    message: str, status_code: int, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    kind = OPENAI_TYPES.get(status_code, "server_error")
    body = error_body(message, kind, OPENAI_CODES.get(status_code))
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


async def rag_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RagError)
    code = status_of(error)
    if _openai(request):
        return openai_error(str(error), status.HTTP_400_BAD_REQUEST if code == 422 else code)
    if isinstance(error, CollectionNotFoundError):  # an unknown id, in FastAPI's 404 shape
        return JSONResponse({"detail": str(error)}, status_code=code)
    return JSONResponse({"error": str(error)}, status_code=code)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if _openai(request):
        return openai_error(str(error.detail), error.status_code, error.headers)
    return await http_exception_handler(request, error)


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()
    ]
    if _openai(request):
        said = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return openai_error(f"invalid request: {said}", status.HTTP_400_BAD_REQUEST)
    return JSONResponse(
        {"error": "invalid request", "detail": problems},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    error_id = uuid.uuid4().hex[:12]
    log.error(
        "unexpected error id=%s on %s %s",
        error_id,
        request.method,
        request.url.path,
        exc_info=error,
    )
    if _openai(request):
        return openai_error(f"internal error, id {error_id}", 500)
    return JSONResponse(
        {"error": "internal error", "id": error_id},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RagError, rag_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
