"""Request-size limit, one structured log line per request, and metrics."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.errors import UploadTooLargeError
from rag.service.metrics import Metrics

log = logging.getLogger("rag.access")


class BodyLimit:
    """Refuse bodies over `limit` bytes with 413, before reading them whole.

    A declared Content-Length over the limit is refused before any of the body
    is read. Otherwise (a chunked body, or one whose length is not declared)
    the body is read here, up to the limit and no further, and handed to the
    application in one piece. Raising from inside the application's own read
    instead would not do: FastAPI turns any error while it reads a body into
    a 400.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        larger: dict[str, int] | None = None,
        streamed: tuple[str, int] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self._larger = larger or {}  # path: its own limit (a batch file upload)
        # (path prefix, limit): bodies passed on as they arrive, counted, for uploads
        self._streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._larger.get(scope["path"], self.limit)
        streamed = self._streamed is not None and scope["path"].startswith(self._streamed[0])
        if streamed and self._streamed is not None:
            limit = self._streamed[1]
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            said = str(UploadTooLargeError(_over(limit))) if streamed else None
            await _too_large(send, limit, said)
            return
        if streamed:
            await self.app(scope, _counted(receive, limit), send)
            return
        first = await self._read_body(receive, limit)
        if first is None:
            await _too_large(send, limit)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:  # later calls wait for the client to disconnect, as usual
                return await receive()
            delivered = True
            return first

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive, limit: int) -> Message | None:
        """The whole body as one message (or the disconnect that cut it short);
        None as soon as it passes the limit."""
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


def _counted(receive: Receive, limit: int) -> Receive:
    """`receive`, raising `UploadTooLargeError` once the body passes `limit`
    bytes; the route reading it answers 413."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise UploadTooLargeError(_over(limit))
        return message

    return counted


def _over(limit: int) -> str:
    return f"upload over service.max_upload_mb ({limit >> 20} MB)"


async def _too_large(send: Send, limit: int, message: str | None = None) -> None:
    body = json.dumps({"error": message or f"request body over {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AccessLog:
    """One JSON line per request: method, route, status, total and stage timings."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.metrics.requests.labels(path, str(status)).inc()
        self.metrics.latency.labels(path).observe(seconds)
        state: dict[str, Any] = scope.get("state", {})
        line = {
            "method": scope["method"],
            "route": path,
            "status": status,
            "ms": round(seconds * 1000, 2),
            **state.get("log_fields", {}),
        }
        log.info(json.dumps(line))
