"""OpenAI's Files and Batch API through the official `openai` SDK over real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openai
import pytest

from rag.embedding import Embedder
from rag.service.batches import BatchStore
from rag.settings import ServiceSettings
from tests.service_helpers import extractive_settings, running_service

KEY = "batch-user-key"


def chat(question: str) -> dict[str, object]:
    return {"model": "rag", "messages": [{"role": "user", "content": question}]}


def test_a_batch_of_chat_requests_is_answered_in_the_background(
    facts_index: Path, real_embedder: Embedder, tmp_path: Path
) -> None:
    service = {"user_keys": [KEY], "batch_dir": tmp_path / "batches"}
    settings = extractive_settings(facts_index, KEY).model_copy(
        update={"service": ServiceSettings(**service)}
    )
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
        # A restarted service on the same folder still has the batch and its output.
        with (
            running_service(settings, real_embedder) as again,
            openai.OpenAI(base_url=f"{str(again.base_url).rstrip('/')}/v1", api_key=KEY) as sdk,
        ):
            kept = sdk.batches.retrieve(batch.id)
            assert kept.status == "completed" and kept.output_file_id == batch.output_file_id
            assert kept.output_file_id is not None
            assert sdk.files.content(kept.output_file_id).text.count("\n") == 5


KILLED = """
import sys, time
from pathlib import Path
from rag.service.batches import BatchStore
from rag.settings import ServiceSettings

def slow(owner, body):
    time.sleep(0.3)
    return 200, {"answered": body["messages"][0]["content"]}

store = BatchStore(Path(sys.argv[1]), slow, 10_000, 100)
batch = store.create("", sys.argv[2], "/v1/chat/completions", "24h", None)
print(batch.id, flush=True)
time.sleep(60)
"""


def kill_midway(folder: Path, file_id: str, after_lines: int) -> str:
    """A batch of `file_id` started in another process, killed once it has
    answered `after_lines` lines; its id."""
    command = [sys.executable, "-c", KILLED, str(folder), file_id]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        batch_id = child.stdout.readline().split()[0]
        partial = folder / f"{batch_id}.partial.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if partial.exists() and partial.read_text().count("\n") >= after_lines:
                break
            time.sleep(0.05)
        child.kill()
    return batch_id


def test_a_batch_killed_midway_resumes_from_its_first_unanswered_line(tmp_path: Path) -> None:
    """A service killed during a batch leaves the lines it answered; the next
    one on the same folder answers only the rest, and the output has them all."""
    folder = tmp_path / "batches"
    lines = [json.dumps({"url": "/v1/chat/completions", "body": chat(f"q{n}")}) for n in range(8)]
    uploads = BatchStore(folder, lambda owner, body: (200, {}), 10_000, 100)
    upload = uploads.add_file("", "in.jsonl", "batch", "\n".join(lines).encode())
    uploads.close()
    batch_id = kill_midway(folder, upload.id, after_lines=3)
    partial = folder / f"{batch_id}.partial.jsonl"
    answered_before = partial.read_text().count("\n")
    assert 3 <= answered_before < 8

    asked: list[str] = []

    def record(owner: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        asked.append(body["messages"][0]["content"])
        return 200, {"answered": body["messages"][0]["content"]}

    store = BatchStore(folder, record, 10_000, 100)
    try:
        deadline = time.monotonic() + 30
        while store.get(batch_id, None).status != "completed" and time.monotonic() < deadline:
            time.sleep(0.05)
        batch = store.get(batch_id, None)
        assert batch.status == "completed" and batch.request_counts["completed"] == 8
        assert asked == [f"q{n}" for n in range(answered_before, 8)]
        assert batch.output_file_id is not None
        out = [
            json.loads(x) for x in store.content(batch.output_file_id, None).decode().splitlines()
        ]
        assert [r["response"]["body"]["answered"] for r in out] == [f"q{n}" for n in range(8)]
        assert not partial.exists()
    finally:
        store.close()
