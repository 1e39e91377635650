"""OpenAI's Files and Batch API through the official `openai` SDK over real HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import openai
import pytest

from rag.embedding import Embedder
from tests.service_helpers import extractive_settings, running_service

KEY = "batch-user-key"


def chat(question: str) -> dict[str, object]:
    return {"model": "rag", "messages": [{"role": "user", "content": question}]}


def test_a_batch_of_chat_requests_is_answered_in_the_background(
    facts_index: Path, real_embedder: Embedder
) -> None:
    settings = extractive_settings(facts_index, KEY)
    lines = [
        {
            "custom_id": "bees",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": chat("Which animal uses a waggle dance?"),
        },
        "{not json",
        {"custom_id": "wrong", "method": "POST", "url": "/v1/embeddings", "body": {}},
        {
            "custom_id": "nomodel",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {**chat("tides"), "model": "gpt-9"},
        },
        {
            "custom_id": "tides",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": chat("What causes ocean tides?"),
        },
    ]
    data = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode()
    with running_service(settings, real_embedder) as http:
        base = str(http.base_url).rstrip("/")
        with openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0) as sdk:
            uploaded = sdk.files.create(file=("requests.jsonl", data), purpose="batch")
            assert uploaded.bytes == len(data)
            batch = sdk.batches.create(
                input_file_id=uploaded.id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
            )
            deadline = time.monotonic() + 120
            while batch.status not in ("completed", "failed") and time.monotonic() < deadline:
                time.sleep(0.2)
                batch = sdk.batches.retrieve(batch.id)
            assert batch.status == "completed"
            assert batch.request_counts is not None
            counts = batch.request_counts
            assert (counts.total, counts.completed, counts.failed) == (5, 2, 3)
            assert batch.output_file_id is not None
            out = [json.loads(x) for x in sdk.files.content(batch.output_file_id).text.splitlines()]
            assert [r["custom_id"] for r in out] == ["bees", None, "wrong", "nomodel", "tides"]
            bees = out[0]["response"]["body"]
            assert (
                out[0]["error"] is None
                and "waggle dance" in bees["choices"][0]["message"]["content"]
            )
            assert bees["rag"]["citations"][0]["source"].endswith("bees.txt")
            assert out[1]["error"]["message"].startswith("line 2: not JSON")
            assert out[2]["error"]["message"].startswith("line 3: ")
            assert out[3]["response"]["status_code"] == 404
            assert "Moon" in out[4]["response"]["body"]["choices"][0]["message"]["content"]
            assert [b.id for b in sdk.batches.list()] == [batch.id]
            with pytest.raises(openai.NotFoundError):
                sdk.batches.retrieve("batch_nope")
            with pytest.raises(openai.BadRequestError) as refused:
                sdk.batches.create(
                    input_file_id=uploaded.id,
                    endpoint="/v1/embeddings",
                    completion_window="24h",
                )
            assert "/v1/chat/completions" in refused.value.message
