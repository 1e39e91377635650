"""Exceptions to HTTP responses, in one place.

Expected errors map by class to 4xx/503 with a message that says what to fix;
anything unexpected becomes a generic 500 whose id matches a log line.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from rag.errors import (
    ConfigError,
    GeneratorFailedError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    RagError,
)

log = logging.getLogger("rag.service")

STATUS = {
    ConfigError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    IndexNotFoundError: status.HTTP_503_SERVICE_UNAVAILABLE,
    IndexLockedError: status.HTTP_409_CONFLICT,
    IndexMismatchError: status.HTTP_409_CONFLICT,
    IndexCorruptError: status.HTTP_409_CONFLICT,
    GeneratorFailedError: status.HTTP_502_BAD_GATEWAY,
}


def _status_of(error: RagError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return status.HTTP_400_BAD_REQUEST


async def rag_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RagError)
    return JSONResponse({"error": str(error)}, status_code=_status_of(error))


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()
    ]
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
    return JSONResponse(
        {"error": "internal error", "id": error_id},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RagError, rag_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
