"""Prometheus metrics: requests by route and status, latency per route and
stage, answers and refusals (by reason), generator fallbacks, time to the first
token and to the checked answer, and the process's own (CPU, memory, files)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from rag.answer.answerer import Answer

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
# Refusal reasons, by the start of `Answer.reason` (answerer.py writes them).
REASONS = (
    ("no passage is relevant", "gate"),
    ("the generator found no answer", "model"),
    ("no sentence of the draft", "unsupported"),
    ("the citations could not be checked", "unchecked"),
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rag_requests_total", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "rag_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.stages = Histogram(
            "rag_stage_seconds",
            "Latency of each search stage",
            ["stage"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.generation = Gauge(
            "rag_index_generation", "Index generation being served", registry=self.registry
        )
        self.answers = Counter(
            "rag_answers_total",
            "Answers, by generator and outcome (answered, or refused and why)",
            ["generator", "outcome"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "rag_generator_fallbacks_total",
            "Answers written by the fallback generator after the chosen one failed",
            registry=self.registry,
        )
        self.first_token = Histogram(
            "rag_answer_first_token_seconds",
            "Time from the start of generation to the first token",
            ["generator"],
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "rag_answer_seconds",
            "Time from the question to the checked answer",
            ["generator"],
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.shed = Counter(
            "rag_shed_total",
            "Requests answered 503 at once by admission control, by kind",
            ["kind"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def answered(self, answer: Answer) -> None:
        """Count one answer and its timings."""
        generator = answer.generator
        self.answers.labels(generator, outcome(answer)).inc()
        if answer.fallback_reason:
            self.fallbacks.inc()
        first = answer.timings_ms.get("first_token")
        if first is not None:
            self.first_token.labels(generator).observe(first / 1000)
        spent = sum(ms for stage, ms in answer.timings_ms.items() if stage != "first_token")
        self.answer_seconds.labels(generator).observe(spent / 1000)


def outcome(answer: Answer) -> str:
    """ "answered", or "refused: " and the kind of reason."""
    if not answer.refused:
        return "answered"
    reason = answer.reason or ""
    kind = next((k for start, k in REASONS if reason.startswith(start)), "other")
    return f"refused: {kind}"
