"""Load clients: threads that post one route in a loop and check every reply.

A request fails when it cannot connect, times out, is answered with a status
other than 2xx, or its body does not validate. A 503 with `Retry-After` is
not a failure: it is shed by the service's admission control, counted apart,
and the client waits as it was told before it asks again (as a well-behaved
client would); the latency figures are of the admitted requests. A good reply records the index
generation it names and the chunk ids it returned, so that the run can check
afterwards that each reply came whole from that generation.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from bench.common import latency
from rag.service.schemas import SearchResponse

FAILURE_SAMPLES = 20  # kept verbatim per route; the rest are only counted


class BadReplyError(Exception):
    """A 2xx reply whose content is wrong."""


@dataclass(frozen=True)
class Reply:
    generation: int
    chunk_ids: frozenset[str]
    refused: bool = False
    judged: int = 0  # answer sentences the LLM judge had to check


class _Chunk(BaseModel):
    chunk_id: str


class _Sentence(BaseModel):
    method: str


class _QueryBody(BaseModel):
    generation: int
    answer: str
    refused: bool
    passages: list[_Chunk]
    citations: list[_Chunk]
    sentences: list[_Sentence]


def _ok(response: httpx.Response) -> bytes:
    if not response.is_success:
        raise BadReplyError(f"status {response.status_code}: {response.text[:200]}")
    return response.content


def check_search(response: httpx.Response) -> Reply:
    body = SearchResponse.model_validate_json(_ok(response))
    if not body.results:
        raise BadReplyError("no results")
    return Reply(body.generation, frozenset(r.chunk_id for r in body.results))


def check_query(response: httpx.Response) -> Reply:
    body = _QueryBody.model_validate_json(_ok(response))
    passages = frozenset(p.chunk_id for p in body.passages)
    if not {c.chunk_id for c in body.citations} <= passages:
        raise BadReplyError("a citation names a chunk that is not among the passages")
    judged = sum(s.method == "judge" for s in body.sentences)
    return Reply(body.generation, passages, body.refused, judged)


@dataclass(frozen=True)
class Route:
    path: str
    body: Callable[[str], dict[str, Any]]
    check: Callable[[httpx.Response], Reply]
    timeout_s: float


SEARCH = Route("/v1/search", lambda q: {"question": q, "top_k": 10}, check_search, 30)
QUERY = Route("/v1/query", lambda q: {"question": q, "generator": "extractive"}, check_query, 120)


class Budget:
    """At most `limit` requests in all, and none once `stop` is set."""

    def __init__(self, limit: int) -> None:
        self._left = limit
        self._lock = threading.Lock()
        self.stop = threading.Event()

    def take(self) -> bool:
        with self._lock:
            if self.stop.is_set() or self._left <= 0:
                return False
            self._left -= 1
            return True


@dataclass
class Tally:
    """What one route's clients saw; its threads record under one lock."""

    route: str
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0
    failure_samples: list[str] = field(default_factory=list)
    served: Counter[tuple[int, frozenset[str]]] = field(default_factory=Counter)
    first_seen_s: dict[int, float] = field(default_factory=dict)
    refused: int = 0
    judged: int = 0
    regressions: int = 0  # a client got an older generation after a newer one
    per_client: list[int] = field(default_factory=list)
    shed_ms: list[float] = field(default_factory=list)
    admitted_per_client: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.per_client = [0] * self.clients
        self.admitted_per_client = [0] * self.clients

    def good(self, client: int, ms: float, reply: Reply, at_s: float, last: int) -> None:
        with self._lock:
            self.latencies_ms.append(ms)
            self.per_client[client] += 1
            self.admitted_per_client[client] += 1
            self.served[(reply.generation, reply.chunk_ids)] += 1
            self.first_seen_s.setdefault(reply.generation, round(at_s, 2))
            self.refused += reply.refused
            self.judged += reply.judged
            self.regressions += reply.generation < last

    def shed(self, client: int, ms: float) -> None:
        with self._lock:
            self.shed_ms.append(ms)
            self.per_client[client] += 1

    def bad(self, client: int, ms: float, why: str) -> None:
        with self._lock:
            self.latencies_ms.append(ms)
            self.per_client[client] += 1
            self.failures += 1
            if len(self.failure_samples) < FAILURE_SAMPLES:
                self.failure_samples.append(why)

    def figures(self, seconds: float) -> dict[str, Any]:
        ms = self.latencies_ms or [0.0]
        return {
            "clients": self.clients,
            "requests": len(self.latencies_ms),
            "failures": self.failures,
            "shed": len(self.shed_ms),
            "shed_p50_ms": latency(self.shed_ms)["p50_ms"] if self.shed_ms else None,
            **latency(ms),
            "max_ms": round(max(ms), 3),
            "per_s": round(len(self.latencies_ms) / seconds, 1),
            "refused": self.refused,
            "judged_sentences": self.judged,
            "regressions": self.regressions,
            "min_per_client": min(self.per_client, default=0),
            "max_per_client": max(self.per_client, default=0),
            "min_admitted_per_client": min(self.admitted_per_client, default=0),
            "failure_samples": self.failure_samples,
        }


@dataclass(frozen=True)
class Client:
    base: str
    route: Route
    questions: list[str]
    budget: Budget
    tally: Tally
    started: float  # perf_counter at the start of the load

    def run(self, number: int) -> None:
        """Post until the budget says stop; each request waits for the previous reply."""
        last = 0
        sent = 0
        with httpx.Client(base_url=self.base, timeout=self.route.timeout_s) as http:
            while self.budget.take():
                question = self.questions[(number + sent) % len(self.questions)]
                sent += 1
                began = time.perf_counter()
                try:
                    response = http.post(self.route.path, json=self.route.body(question))
                    wait_s = retry_after_s(response)
                    if wait_s is not None:
                        self.tally.shed(number, _since(began))
                        self.budget.stop.wait(wait_s)
                        continue
                    reply = self.route.check(response)
                except (httpx.HTTPError, ValidationError, BadReplyError) as error:
                    why = f"{type(error).__name__}: {str(error)[:300]}"
                    self.tally.bad(number, _since(began), why)
                    continue
                self.tally.good(number, _since(began), reply, began - self.started, last)
                last = max(last, reply.generation)


def retry_after_s(response: httpx.Response) -> float | None:
    """The seconds a 503 from admission control says to wait; None for any other reply."""
    told = response.headers.get("retry-after", "")
    return float(told) if response.status_code == 503 and told.isdigit() else None


def _since(began: float) -> float:
    return (time.perf_counter() - began) * 1000
