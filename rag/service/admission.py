"""Admission control: bounded work, bounded waiting, the excess refused at once.

Answers (`POST /v1/query`, `POST /v1/chat/completions`) and searches
(`POST /v1/search`) each pass a `Gate`: at most `running` requests inside the
application, at most `waiting` more queued for a place, each for at most
`wait_s`. Any other request of the kind is answered at once with 503 and a
`Retry-After` that estimates when a place frees up (the mean time a request
of the kind has held its place, times the queue ahead of it). The gates are
separate, so generations can never hold the places (nor, since only `running`
of them are inside, the worker threads) that searches need. Queued requests
wait here, in the event loop, not on a thread.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from rag.service.metrics import Metrics
from rag.service.openai_schemas import error_body
from rag.settings import ServiceSettings

ANSWER_PATHS = frozenset({"/v1/query", "/v1/chat/completions"})
SEARCH_PATHS = frozenset({"/v1/search"})
MEAN_WEIGHT = 0.2  # of the newest request in the running mean of the time a place is held
MAX_RETRY_AFTER_S = 300


@dataclass
class Gate:
    kind: str
    running: int
    waiting: int
    wait_s: float
    settings_hint: str
    queued: int = 0
    mean_s: float = 0.0
    _places: asyncio.Semaphore | None = field(default=None, repr=False)

    @property
    def places(self) -> asyncio.Semaphore:
        if self._places is None:  # made in the event loop that serves
            self._places = asyncio.Semaphore(self.running)
        return self._places

    async def enter(self) -> bool:
        """True once a place is held; False (at once, or after `wait_s`) when shed."""
        if self.places.locked() and self.queued >= self.waiting:
            return False
        self.queued += 1
        try:
            await asyncio.wait_for(self.places.acquire(), self.wait_s)
        except TimeoutError:
            return False
        finally:
            self.queued -= 1
        return True

    def leave(self, held_s: float) -> None:
        self.places.release()
        self.mean_s += (held_s - self.mean_s) * (MEAN_WEIGHT if self.mean_s else 1.0)

    def retry_after_s(self) -> int:
        ahead = (self.queued + 1) / self.running
        return max(1, min(MAX_RETRY_AFTER_S, math.ceil(self.mean_s * ahead)))

    def refusal(self) -> str:
        return (
            f"busy: {self.running} {self.kind} in progress and {self.queued} waiting, the most "
            f"{self.settings_hint} allow; retry after {self.retry_after_s()} s"
        )


def gates(settings: ServiceSettings) -> dict[str, Gate]:
    answers = Gate(
        "answers",
        settings.max_answers,
        settings.answer_queue,
        settings.answer_wait_s,
        "service.max_answers and service.answer_queue",
    )
    searches = Gate(
        "searches",
        settings.max_searches,
        settings.search_queue,
        settings.search_wait_s,
        "service.max_searches and service.search_queue",
    )
    return {**dict.fromkeys(ANSWER_PATHS, answers), **dict.fromkeys(SEARCH_PATHS, searches)}


class Admission:
    def __init__(self, app: ASGIApp, settings: ServiceSettings, metrics: Metrics) -> None:
        self.app = app
        self._gates = gates(settings)
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = self._gates.get(scope["path"]) if scope["type"] == "http" else None
        if gate is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if not await gate.enter():
            self._metrics.shed.labels(gate.kind).inc()
            await _refuse(send, scope["path"], gate)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            gate.leave(time.perf_counter() - started)


async def _refuse(send: Send, path: str, gate: Gate) -> None:
    message = gate.refusal()
    if path.startswith("/v1/chat/"):  # OpenAI's clients read errors in OpenAI's shape
        body = error_body(message, "server_error", "overloaded")
    else:
        body = {"error": message}
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(gate.retry_after_s()).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
