"""POST /v1/query over real HTTP: JSON and server-sent events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.embedding import Embedder
from rag.settings import build_settings
from tests.service_helpers import running_service


def events(text: str) -> list[tuple[str, dict[str, object]]]:
    parsed = []
    for block in text.strip().split("\n\n"):
        kind = block.split("\n")[0].removeprefix("event: ")
        data = json.loads(block.split("\n")[1].removeprefix("data: "))
        parsed.append((kind, data))
    return parsed


def test_extractive_answer_json_and_stream(facts_index: Path, real_embedder: Embedder) -> None:
    settings = build_settings({"index_dir": facts_index}, use_env=False)
    with running_service(settings, real_embedder) as client:
        body = {"question": "Which animal uses a waggle dance?", "generator": "extractive"}
        answer = client.post("/v1/query", json=body).json()
        assert answer["refused"] is False and "waggle dance" in answer["answer"]
        assert answer["citations"][0]["source"].endswith("bees.txt")
        assert answer["sentences"][0]["supported"] is True
        streamed = client.post("/v1/query", json={**body, "stream": True})
        assert streamed.headers["content-type"].startswith("text/event-stream")
        kinds = [kind for kind, _ in events(streamed.text)]
        assert kinds[0] == "token" and kinds[-1] == "answer"
        assert events(streamed.text)[-1][1]["answer"] == answer["answer"]
        assert answer["generation"] == events(streamed.text)[-1][1]["generation"] == 1
        refused = client.post(
            "/v1/query", json={"question": "Who won the 1998 world cup?", "generator": "extractive"}
        ).json()
        assert refused["refused"] is True and refused["citations"] == []
        bad = client.post("/v1/query", json={"question": "x", "generator": "gpt-9"})
        assert bad.status_code == 422
        metrics = client.get("/metrics").text
    assert 'rag_answers_total{generator="extractive",outcome="answered"} 2.0' in metrics
    assert 'rag_answers_total{generator="extractive",outcome="refused: ' in metrics
    assert 'rag_answer_seconds_count{generator="extractive"} 3.0' in metrics
    assert "process_cpu_seconds_total" in metrics and "rag_generator_fallbacks_total 0.0" in metrics


@pytest.mark.slow
def test_local_model_streams_tokens_then_a_checked_answer(
    facts_index: Path, real_embedder: Embedder
) -> None:
    settings = build_settings({"index_dir": facts_index}, use_env=False)
    with running_service(settings, real_embedder) as client:
        streamed = client.post(
            "/v1/query", json={"question": "What causes ocean tides?", "stream": True, "top_k": 3}
        )
        parsed = events(streamed.text)
        tokens = [data["text"] for kind, data in parsed if kind == "token"]
        assert len(tokens) > 3
        kind, final = parsed[-1]
        assert kind == "answer" and final["refused"] is False
        assert "Moon" in final["answer"] and final["draft"] == "".join(tokens)
        assert final["citations"][0]["source"].endswith("tides.txt")
        timings = final["timings_ms"]
        assert 0 < timings["first_token"] <= timings["generate"]


@pytest.mark.slow
def test_follow_up_question_is_condensed_with_history(
    facts_index: Path, real_embedder: Embedder
) -> None:
    settings = build_settings({"index_dir": facts_index}, use_env=False)
    history = [
        {"role": "user", "content": "Tell me about ocean tides."},
        {"role": "assistant", "content": "Tides are the rise and fall of the sea."},
    ]
    with running_service(settings, real_embedder) as client:
        answer = client.post(
            "/v1/query",
            json={
                "question": "What causes them?",
                "history": history,
                "generator": "extractive",
            },
        ).json()
    assert "tide" in answer["question"].lower()
    assert answer["refused"] is False
    assert answer["citations"][0]["source"].endswith("tides.txt")
