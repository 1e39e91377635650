"""Admission control: answers and searches bounded apart, the excess refused at
once with 503 and Retry-After."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

from rag.embedding import Embedder
from rag.service.admission import Gate
from rag.settings import build_settings
from tests.service_helpers import running_service

KEY = "admission-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def test_a_gate_admits_queues_and_sheds() -> None:
    async def scenario() -> tuple[bool, bool, int, str]:
        gate = Gate("searches", running=1, waiting=1, wait_s=5.0, settings_hint="the settings")
        assert await gate.enter()  # the one place
        queued = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0.01)
        refusal = gate.refusal()
        full = await gate.enter()  # the queue's one place is taken too: shed at once
        gate.leave(held_s=4.0)
        return full, await queued, gate.retry_after_s(), refusal

    full, admitted, retry, refusal = asyncio.run(scenario())
    assert full is False and admitted is True
    assert retry == 4  # a request held its place 4 s; nobody is queued now
    assert refusal.startswith("busy: 1 searches in progress and 1 waiting")


def test_a_queued_request_is_shed_after_its_wait() -> None:
    async def scenario() -> tuple[bool, float]:
        gate = Gate("answers", running=1, waiting=5, wait_s=0.1, settings_hint="x")
        await gate.enter()
        began = time.perf_counter()
        return await gate.enter(), time.perf_counter() - began

    admitted, waited = asyncio.run(scenario())
    assert admitted is False and 0.09 < waited < 1.0


def test_generations_are_bounded_and_searches_still_served(
    facts_index: Path, real_embedder: Embedder
) -> None:
    """One answer streams from the real LLM; a second is refused at once with
    Retry-After (plain and OpenAI-shaped), and searches keep being answered."""
    data = {
        "index_dir": facts_index,
        "answer": {"generator": "local"},
        "service": {"user_keys": [KEY], "max_answers": 1, "answer_queue": 0},
    }
    settings = build_settings(data, use_env=False)
    with running_service(settings, real_embedder) as client:
        streaming = threading.Event()
        done: list[int] = []

        def first_answer() -> None:
            body = {"question": "What makes bread dough rise?", "stream": True}
            with client.stream("POST", "/v1/query", json=body, headers=AUTH) as reply:
                for line in reply.iter_lines():
                    if line.startswith("event: token"):
                        streaming.set()
                done.append(reply.status_code)

        thread = threading.Thread(target=first_answer)
        thread.start()
        assert streaming.wait(120), "the first answer never streamed a token"
        began = time.perf_counter()
        refused = client.post("/v1/query", json={"question": "Why tides?"}, headers=AUTH)
        refused_ms = (time.perf_counter() - began) * 1000
        chat = client.post(
            "/v1/chat/completions",
            json={"model": "rag", "messages": [{"role": "user", "content": "Why tides?"}]},
            headers=AUTH,
        )
        search = client.post("/v1/search", json={"question": "tides"}, headers=AUTH)
        thread.join(180)
        metrics = client.get("/metrics").text
        after = client.post(
            "/v1/query",
            json={"question": "What causes tides?", "generator": "extractive"},
            headers=AUTH,
        )

    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert "service.max_answers" in refused.json()["error"]
    assert refused_ms < 5000  # at once, not after the generation
    assert chat.status_code == 503 and chat.json()["error"]["code"] == "overloaded"
    assert search.status_code == 200 and search.json()["results"]
    assert done == [200]
    assert 'rag_shed_total{kind="answers"} 2.0' in metrics
    assert after.status_code == 200 and json.loads(after.text)["answer"]  # a place again
