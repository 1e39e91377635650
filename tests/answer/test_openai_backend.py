"""The OpenAI-compatible backend against a real server on loopback (llama.cpp's
own server with the packaged model), and its fallback when the server fails."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from rag.answer.answerer import Answer
from rag.answer.build import make_answerer
from rag.embedding import Embedder
from rag.index.snapshot import open_current
from rag.llm.lazy import LazyLLM
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import Settings, build_settings
from tests.service_helpers import free_port

pytestmark = pytest.mark.slow


def ask(settings: Settings, embedder: Embedder, question: str) -> Answer:
    snapshot = open_current(settings.index_dir)
    try:
        retriever = HybridRetriever(snapshot, embedder, settings.tokenizer, settings.retrieval)
        llm = LazyLLM(settings)
        answer = make_answerer(settings, retriever, embedder, llm).answer(question)
        llm.close()
        return answer
    finally:
        snapshot.close()


def settings_for(index: Path, base_url: str, timeout: float = 60.0) -> Settings:
    return build_settings(
        {
            "index_dir": index,
            "answer": {"generator": "openai"},
            "openai": {"base_url": base_url, "timeout_s": timeout},
        },
        use_env=False,
    )


def test_answers_through_a_real_openai_compatible_server(
    openai_server: str, facts_index: Path, real_embedder: Embedder
) -> None:
    answer = ask(
        settings_for(facts_index, openai_server), real_embedder, "What causes ocean tides?"
    )
    assert answer.generator == "openai" and answer.fallback_reason is None
    assert not answer.refused and "Moon" in answer.answer
    assert answer.citations[0].passage.source_path.endswith("tides.txt")


def test_server_down_falls_back_to_extractive_with_the_reason(
    facts_index: Path, real_embedder: Embedder
) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    answer = ask(settings_for(facts_index, down), real_embedder, "What causes ocean tides?")
    assert answer.generator == "extractive"
    assert "ConnectError" in (answer.fallback_reason or "")
    assert not answer.refused and "Moon" in answer.answer


def test_hanging_server_times_out_and_falls_back(
    facts_index: Path, real_embedder: Embedder
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        started = time.monotonic()
        answer = ask(
            settings_for(facts_index, url, timeout=1.0), real_embedder, "What causes ocean tides?"
        )
    assert time.monotonic() - started < 30
    assert "timed out after 1.0 s" in (answer.fallback_reason or "")
    assert answer.generator == "extractive"


def test_the_server_judges_and_the_local_model_is_never_loaded(
    openai_server: str, facts_index: Path
) -> None:
    from rag.answer.build import LazyJudge
    from rag.answer.transforms import condense

    settings = settings_for(facts_index, openai_server).with_changes(llm={"backend": "openai"})
    llm = LazyLLM(settings)
    judge = LazyJudge(llm)
    passage = "Ocean tides are caused mainly by the gravitational pull of the Moon."
    supported = judge.support("The Moon's gravity causes the tides.", passage)
    unsupported = judge.support("Tides are caused by the wind over the sea.", passage)
    assert supported > 0.5 > unsupported
    history = [
        {"role": "user", "content": "What causes ocean tides?"},
        {"role": "assistant", "content": "The gravitational pull of the Moon [1]."},
    ]
    standalone = condense("And how often do they happen?", history, llm.tasks)
    assert "tide" in standalone.lower()
    assert "model" not in llm.__dict__  # the local model was never loaded
