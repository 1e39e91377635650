"""The OpenAI-compatible backend against a real misbehaving HTTP server on
loopback: silent, stalling mid-stream, dripping tokens forever, answering 500,
sending garbage or cutting the connection. Each answer falls back to
extractive (saying why in `fallback_reason`) or fails with a message saying
what happened, and none takes longer than the configured limits: `timeout_s`
bounds each wait, `deadline_s` the whole reply. The local model failing is
covered with a fake that raises.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import cast

import pytest

from rag.answer.answerer import Answer, Answerer
from rag.answer.build import make_answerer
from rag.answer.generators import ExtractiveGenerator, LocalGenerator
from rag.answer.remote import FallbackGenerator
from rag.embedding import Embedder
from rag.errors import GeneratorFailedError
from rag.index.snapshot import open_current
from rag.index.terms import TermAnalyzer
from rag.llm.base import Message
from rag.llm.lazy import LazyLLM
from rag.llm.local import LocalLLM
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import (
    AnswerSettings,
    RetrievalSettings,
    Settings,
    TokenizerSettings,
    build_settings,
)
from tests.openai_server import ANSWER, USAGE, fake_openai
from tests.service_helpers import running_service

TIMEOUT_S, DEADLINE_S = 1.0, 2.0
SLACK_S = 5.0  # retrieval and the extractive answer; generous: a bound, not a speed test
QUESTION = "What causes ocean tides?"


@pytest.fixture(scope="module")
def misbehaving() -> Iterator[str]:
    """The fake server's root URL; a behaviour's base URL is ROOT/<behaviour>/v1."""
    with fake_openai() as root:
        yield root


def settings_for(index: Path, base_url: str) -> Settings:
    return build_settings(
        {
            "index_dir": index,
            "answer": {"generator": "openai"},
            "openai": {"base_url": base_url, "timeout_s": TIMEOUT_S, "deadline_s": DEADLINE_S},
            "service": {"reload_interval_s": 0},
        },
        use_env=False,
    )


def ask(settings: Settings, embedder: Embedder) -> tuple[Answer | GeneratorFailedError, float]:
    """The answer (or the error it failed with) and the seconds it took."""
    snapshot = open_current(settings.index_dir)
    llm = LazyLLM(settings)
    try:
        retriever = HybridRetriever(snapshot, embedder, settings.tokenizer, settings.retrieval)
        answerer = make_answerer(settings, retriever, embedder, llm)
        started = time.monotonic()
        try:
            result: Answer | GeneratorFailedError = answerer.answer(QUESTION)
        except GeneratorFailedError as error:
            result = error
        return result, time.monotonic() - started
    finally:
        llm.close()
        snapshot.close()


FALLS_BACK = {
    "silent": f"timed out after {TIMEOUT_S} s",
    "error500": "answered 500",
    "not-json": "the reply ended before the answer was complete",
    "bad-sse": "sent a malformed chunk: {this is not json",
    "wrong-shape": 'sent a malformed chunk: {"result"',
}
FAILS_MID_ANSWER = {
    "stall": f"timed out after {TIMEOUT_S} s",
    "drip": f"did not finish within {DEADLINE_S} s",
    "cut": "RemoteProtocolError",
    "no-end": "the reply ended before the answer was complete",
}


def test_a_working_server_answers(
    misbehaving: str, facts_index: Path, real_embedder: Embedder
) -> None:
    answer, _ = ask(settings_for(facts_index, f"{misbehaving}/ok/v1"), real_embedder)
    assert isinstance(answer, Answer) and answer.generator == "openai"
    assert answer.fallback_reason is None and answer.draft == "".join(ANSWER)
    assert not answer.refused and answer.citations[0].passage.source_path.endswith("tides.txt")
    assert answer.usage == (USAGE["prompt_tokens"], USAGE["completion_tokens"])


def test_a_server_quiet_after_the_answer_loses_only_the_token_counts(
    misbehaving: str, facts_index: Path, real_embedder: Embedder
) -> None:
    answer, seconds = ask(settings_for(facts_index, f"{misbehaving}/usage-stall/v1"), real_embedder)
    assert seconds < DEADLINE_S + SLACK_S
    assert isinstance(answer, Answer) and answer.generator == "openai"
    assert answer.draft == "".join(ANSWER) and answer.usage is None


@pytest.mark.parametrize("behaviour", FALLS_BACK)
def test_failure_before_the_first_token_falls_back_to_extractive(
    behaviour: str, misbehaving: str, facts_index: Path, real_embedder: Embedder
) -> None:
    url = f"{misbehaving}/{behaviour}/v1"
    answer, seconds = ask(settings_for(facts_index, url), real_embedder)
    assert seconds < DEADLINE_S + SLACK_S
    assert isinstance(answer, Answer) and answer.generator == "extractive"
    assert f"openai failed ({url}/chat/completions" in (answer.fallback_reason or "")
    assert FALLS_BACK[behaviour] in (answer.fallback_reason or "")
    assert not answer.refused and "Moon" in answer.answer


@pytest.mark.parametrize("behaviour", FAILS_MID_ANSWER)
def test_failure_after_the_first_token_fails_with_the_reason(
    behaviour: str, misbehaving: str, facts_index: Path, real_embedder: Embedder
) -> None:
    error, seconds = ask(settings_for(facts_index, f"{misbehaving}/{behaviour}/v1"), real_embedder)
    assert seconds < DEADLINE_S + SLACK_S
    assert isinstance(error, GeneratorFailedError)
    assert str(error).startswith("openai failed mid-answer: ")
    assert FAILS_MID_ANSWER[behaviour] in str(error)


def test_service_falls_back_or_says_why_within_the_deadline(
    misbehaving: str, facts_index: Path, real_embedder: Embedder
) -> None:
    query = {"question": QUESTION, "generator": "openai"}
    settings = settings_for(facts_index, f"{misbehaving}/error500/v1")
    with running_service(settings, real_embedder) as client:
        fallback = client.post("/v1/query", json=query)
    assert fallback.status_code == 200
    assert fallback.json()["generator"] == "extractive"
    assert "answered 500" in fallback.json()["fallback_reason"]
    with running_service(
        settings_for(facts_index, f"{misbehaving}/drip/v1"), real_embedder
    ) as client:
        started = time.monotonic()
        failed = client.post("/v1/query", json=query)
        plain_s = time.monotonic() - started
        started = time.monotonic()
        streamed = client.post("/v1/query", json={**query, "stream": True})
        stream_s = time.monotonic() - started
    assert failed.status_code == 502
    assert failed.json()["error"].startswith("openai failed mid-answer: ")
    assert f"did not finish within {DEADLINE_S} s" in failed.json()["error"]
    assert streamed.status_code == 200
    events = [e for e in streamed.text.split("\n\n") if e]
    assert events[0].startswith("event: token") and events[-1].startswith("event: error")
    assert f"did not finish within {DEADLINE_S} s" in events[-1]
    assert max(plain_s, stream_s) < DEADLINE_S + SLACK_S


class BrokenLLM:
    """A local model that fails after `pieces` pieces of its answer, or hangs
    there (a wedged llama.cpp call) when `hang` is set."""

    def __init__(self, pieces: int, hang: bool = False) -> None:
        self.pieces = pieces
        self.hang = hang

    def chat_stream(
        self, messages: Sequence[Message], max_tokens: int | None = None, grammar: str | None = None
    ) -> Iterator[str]:
        yield from ANSWER[: self.pieces]
        if self.hang:
            time.sleep(30)
        raise RuntimeError("llama_decode returned -3")


class NoJudge:
    def support(self, claim: str, passage: str) -> float:
        raise AssertionError("quoted sentences are settled without the judge")


@pytest.fixture
def retriever(facts_index: Path, real_embedder: Embedder) -> Iterator[HybridRetriever]:
    snapshot = open_current(facts_index)
    yield HybridRetriever(snapshot, real_embedder, TokenizerSettings(), RetrievalSettings())
    snapshot.close()


def local_answerer(
    retriever: HybridRetriever,
    embedder: Embedder,
    llm: BrokenLLM,
    deadline_s: float = 300.0,
) -> Answerer:
    local = LocalGenerator(lambda: cast(LocalLLM, llm), max_tokens=50, deadline_s=deadline_s)
    generator = FallbackGenerator(local, ExtractiveGenerator(embedder))
    analyzer = TermAnalyzer(TokenizerSettings())
    return Answerer(retriever, generator, NoJudge(), analyzer, AnswerSettings())


def test_local_model_failing_falls_back_or_says_why(
    retriever: HybridRetriever, real_embedder: Embedder
) -> None:
    answer = local_answerer(retriever, real_embedder, BrokenLLM(0)).answer(QUESTION)
    assert answer.generator == "extractive" and not answer.refused and "Moon" in answer.answer
    assert "local failed (local model: llama_decode returned -3)" in (answer.fallback_reason or "")
    midway = local_answerer(retriever, real_embedder, BrokenLLM(2))
    with pytest.raises(GeneratorFailedError, match="local failed mid-answer: local model: llama"):
        midway.answer(QUESTION)


def test_a_stuck_local_model_gives_up_at_its_deadline(
    retriever: HybridRetriever, real_embedder: Embedder
) -> None:
    started = time.monotonic()
    answer = local_answerer(retriever, real_embedder, BrokenLLM(0, hang=True), 1.0).answer(QUESTION)
    assert answer.generator == "extractive" and "Moon" in answer.answer
    assert "local model did not finish within 1 s" in (answer.fallback_reason or "")
    midway = local_answerer(retriever, real_embedder, BrokenLLM(2, hang=True), 1.0)
    with pytest.raises(GeneratorFailedError, match="did not finish within 1 s"):
        midway.answer(QUESTION)
    assert time.monotonic() - started < 1.0 * 2 + 10  # two deadlines, and no 30 s hang
