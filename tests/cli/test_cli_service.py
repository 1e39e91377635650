"""`rag search` and `rag serve` as real processes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.ingest.test_cli import ENV, RAG, rag
from tests.service_helpers import free_port

pytestmark = pytest.mark.slow


def test_search_command(facts_index: Path) -> None:
    text = rag("search", "how do insects tell each other where food is", "--index", facts_index)
    assert text.returncode == 0, text.stderr
    assert "bees.txt" in text.stdout.splitlines()[0]
    done = rag(
        "search", "moraines", "--index", facts_index, "--mode", "sparse", "--top-k", "1", "--json"
    )
    [hit] = json.loads(done.stdout)["results"]
    assert hit["source"].endswith("glaciers.pdf") and hit["pages"] == [1, 2]  # one chunk, 2 pages
    filtered = rag("search", "lava", "--index", facts_index, "--meta", "format=pdf", "--json")
    assert {Path(r["source"]).name for r in json.loads(filtered.stdout)["results"]} == {
        "glaciers.pdf"
    }
    bad = rag("search", "lava", "--index", facts_index, "--mode", "borda")
    assert bad.returncode == 2 and "rrf, minmax, dense, sparse" in bad.stderr
    none = rag("search", "lava", "--index", facts_index, "--top-k", "0")
    assert none.returncode == 2 and "--top-k must be 1..100" in none.stderr


def test_version_and_json_listings(facts_index: Path) -> None:
    version = rag("--version")
    assert version.returncode == 0 and version.stdout.startswith("rag 0.")
    listed = [
        json.loads(line)
        for line in rag("index", "list", "--index", facts_index, "--json").stdout.splitlines()
    ]
    assert len(listed) == 6 and {d["source"].rsplit("/", 1)[-1] for d in listed} >= {"bees.txt"}
    assert all(d["chunks"] >= 1 and len(d["doc_id"]) == 16 for d in listed)


def test_serve_command_binds_loopback_without_keys(facts_index: Path) -> None:
    port = free_port()
    with subprocess.Popen(
        [RAG, "serve", "--index", str(facts_index), "--host", "0.0.0.0", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    ) as server:
        try:
            deadline = time.monotonic() + 120
            ready = None
            while time.monotonic() < deadline:
                try:
                    ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                    if ready.status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.5)
            assert ready is not None and ready.json()["status"] == "ready"
            hit = httpx.post(
                f"http://127.0.0.1:{port}/v1/search",
                timeout=30,
                json={"question": "castling", "top_k": 1},
            ).json()
            assert hit["results"][0]["source"].endswith("chess.txt")
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=30)
    assert "no API keys configured: binding to 127.0.0.1 instead of 0.0.0.0" in output
    assert '"route": "/v1/search", "status": 200' in output


def test_ask_command(facts_index: Path) -> None:
    done = rag(
        "ask",
        "Which animal uses a waggle dance?",
        "--index",
        facts_index,
        "--generator",
        "extractive",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["refused"] is False and "waggle dance" in answer["answer"]
    assert answer["citations"][0]["source"].endswith("bees.txt")
    text = rag(
        "ask",
        "Who won the 1998 football world cup?",
        "--index",
        facts_index,
        "--generator",
        "extractive",
    )
    assert text.stdout.startswith("The documents do not contain an answer")


def test_ask_in_a_terminal_streams_the_draft_then_prints_the_checked_answer(
    facts_index: Path,
) -> None:
    import os
    import pty

    from rag.cli.ask_cmd import DRAFT_END

    leader, follower = pty.openpty()
    command = [RAG, "ask", "What causes ocean tides?", "--index", str(facts_index)]
    with subprocess.Popen(command, stdout=follower, stderr=subprocess.PIPE, env=ENV) as ask:
        os.close(follower)
        reads = []
        while True:
            try:
                piece = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not piece:
                break
            reads.append(piece.decode())
        ask.wait(timeout=300)
    os.close(leader)
    screen = "".join(reads).replace("\r\n", "\n")
    assert ask.returncode == 0
    draft, _, checked = screen.partition(DRAFT_END)
    assert "Moon" in draft and "[" in draft  # the model's own draft, markers and all
    assert "Moon" in checked and "tides.txt" in checked  # then the answer with its citation


def test_ask_batch_reports_bad_lines_and_resumes_after_a_kill(
    facts_index: Path, tmp_path: Path
) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        '{"id": "bees", "question": "Which animal uses a waggle dance?"}\n'
        '{"id": "tides", "question": "What causes ocean tides?"}\n'
        "{not json\n"
        '{"id": "empty"}\n'
        '{"id": "cup", "question": "Who won the 1998 world cup?"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "answers.jsonl"
    args = ("ask", "--batch", questions, "--out", out, "--index", facts_index)
    first = rag(*args, "--generator", "extractive")
    assert first.returncode == 1, first.stderr  # two lines failed, the rest answered
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["bees", "tides", "3", "empty", "cup"]
    assert records[2]["error"].startswith("line 3: not JSON")
    assert records[3]["error"] == 'line 4: no "question" text'
    assert "waggle dance" in records[0]["answer"]["answer"]
    assert records[4]["answer"]["refused"] is True
    assert "2 answered, 1 refused, 2 failed" in first.stdout
    # A run killed while writing its third record: two whole lines and a torn one.
    kept = json.dumps({**records[0], "answer": {**records[0]["answer"], "answer": "KEPT"}})
    out.write_text(kept + "\n" + json.dumps(records[1]) + "\n" + '{"id": "3", "li', "utf-8")
    again = rag(*args, "--generator", "extractive")
    assert again.returncode == 1 and "2 already done" in again.stdout
    resumed = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in resumed] == ["bees", "tides", "3", "empty", "cup"]
    assert resumed[0]["answer"]["answer"] == "KEPT"  # not answered again
