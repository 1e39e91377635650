"""The real service under load while ingests swap its index generation.

`rag bench load` at full size: 32 clients on /v1/search and 4 on /v1/query
(extractive answers) for 60 s against `rag serve` in its own process, while
two `rag ingest` runs replace the generation under them. The figures are
printed and kept in test-artifacts/load/load.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.load import SEARCHABLE_WITHIN_S, mixed_replies, problems
from bench.load_clients import (
    BadReplyError,
    Reply,
    Tally,
    check_query,
    check_search,
    retry_after_s,
)
from tests.conftest import ROOT

ARTIFACT = ROOT / "test-artifacts" / "load" / "load.json"
MAX_REQUESTS = 100_000


@pytest.mark.slow
def test_no_request_fails_and_no_reply_mixes_generations_under_load(tmp_path: Path) -> None:
    ARTIFACT.unlink(missing_ok=True)
    command = [
        *(sys.executable, "-m", "rag.cli.main", "bench", "load"),
        *("--clients", "32", "--query-clients", "4", "--seconds", "60", "--ingests", "2"),
        *("--max-requests", str(MAX_REQUESTS), "--work", str(tmp_path), "--out", str(ARTIFACT)),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=ROOT, check=False
    )
    print(done.stdout)
    assert ARTIFACT.is_file(), done.stderr[-3000:]
    figures = json.loads(ARTIFACT.read_text())["results"]
    search, query = figures["routes"]["/v1/search"], figures["routes"]["/v1/query"]
    assert figures["failures"] == 0, search["failure_samples"] + query["failure_samples"]
    assert figures["mixed_replies"] == 0, figures["mixed_samples"]
    assert [r["exit"] for r in figures["ingests"]] == [0, 0], done.stderr[-3000:]
    generations = figures["generations"]
    assert generations["built"] == generations["seen"] == [1, 2, 3]
    assert generations["metric"] == 3
    assert generations["fresh_chunks_served"]["2"] > 0  # the new content was served
    assert generations["fresh_chunks_served"]["3"] > 0
    assert (search["clients"], query["clients"]) == (32, 4)
    assert figures["shed"] == search["shed"] + query["shed"]  # 503s, counted apart
    for route in (search, query):
        assert route["regressions"] == 0 and route["min_per_client"] > 0
        assert 0 < route["p50_ms"] <= route["p95_ms"] <= route["max_ms"]
    assert search["requests"] + query["requests"] == figures["requests"] < MAX_REQUESTS
    assert figures["ran_s"] >= 60
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_files_uploaded_through_the_api_under_load_are_searchable_at_once(tmp_path: Path) -> None:
    """8 search clients while two rounds upload their files to the service's
    ingest route: no request fails, and each new file is found within
    SEARCHABLE_WITHIN_S of its job's end (the job swaps the generation in)."""
    out = tmp_path / "upload.json"
    command = [
        *(sys.executable, "-m", "rag.cli.main", "bench", "load", "--via", "api"),
        *("--clients", "8", "--query-clients", "0", "--seconds", "20", "--ingests", "2"),
        *("--work", str(tmp_path / "work"), "--out", str(out)),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=ROOT, check=False
    )
    print(done.stdout)
    assert out.is_file(), done.stderr[-3000:]
    figures = json.loads(out.read_text())["results"]
    assert figures["failures"] == 0, figures["routes"]["/v1/search"]["failure_samples"]
    assert figures["mixed_replies"] == 0, figures["mixed_samples"]
    rounds = figures["ingests"]
    assert [r["exit"] for r in rounds] == [0, 0], rounds
    assert all(0 <= r["searchable_s"] <= SEARCHABLE_WITHIN_S for r in rounds), rounds
    assert figures["generations"]["built"] == figures["generations"]["seen"] == [1, 2, 3]
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_reply_is_mixed_when_its_generation_lacks_a_chunk_it_returned() -> None:
    tally = Tally("/v1/search", clients=1)
    tally.good(0, 5.0, Reply(1, frozenset({"a", "b"})), at_s=0.1, last=0)
    tally.good(0, 5.0, Reply(2, frozenset({"a", "c"})), at_s=0.2, last=1)
    tally.good(0, 5.0, Reply(1, frozenset({"a", "c"})), at_s=0.3, last=2)  # c is new in 2
    chunks = {1: frozenset({"a", "b"}), 2: frozenset({"a", "c"})}
    count, samples = mixed_replies([tally], chunks)
    assert count == 1 and samples == ["/v1/search generation 1: 1 x chunks ['c']"]
    assert tally.regressions == 1 and tally.first_seen_s == {1: 0.1, 2: 0.2}


def reply(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_a_503_with_retry_after_is_shed_not_failed() -> None:
    shed = httpx.Response(503, json={"error": "busy"}, headers={"Retry-After": "3"})
    assert retry_after_s(shed) == 3.0
    assert retry_after_s(reply(503, {"error": "no index"})) is None  # a failure
    assert retry_after_s(httpx.Response(200, headers={"Retry-After": "3"})) is None
    tally = Tally("/v1/search", clients=2)
    tally.shed(0, 1.5)
    tally.good(1, 9.0, Reply(1, frozenset({"a"})), at_s=0.1, last=0)
    figures = tally.figures(seconds=1.0)
    assert (figures["requests"], figures["shed"], figures["failures"]) == (1, 1, 0)
    assert figures["p50_ms"] == 9.0 and figures["shed_p50_ms"] == 1.5  # admitted only
    assert figures["min_per_client"] == 1 and figures["min_admitted_per_client"] == 0


@pytest.mark.slow
def test_a_sweep_sheds_the_excess_and_fails_nothing(tmp_path: Path) -> None:
    """One client never meets admission control (4 searches at once, 4 queued);
    32 at once exceed it, and the excess is shed with 503, never failed."""
    out = tmp_path / "sweep.json"
    command = [
        *(sys.executable, "-m", "rag.cli.main", "bench", "load", "--sweep", "1,32"),
        *("--query-clients", "0", "--seconds", "8", "--work", str(tmp_path / "work")),
        *("--out", str(out)),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=ROOT, check=False
    )
    print(done.stdout)
    assert done.returncode == 0 and out.is_file(), done.stderr[-3000:]
    one, many = (r["routes"]["/v1/search"] for r in json.loads(out.read_text())["results"]["runs"])
    assert (one["clients"], many["clients"]) == (1, 32)
    assert one["failures"] == many["failures"] == 0
    assert one["shed"] == 0 and one["requests"] > 0
    assert many["shed"] > 0 and many["requests"] > 0


def test_replies_that_fail_or_do_not_validate_are_failures() -> None:
    with pytest.raises(BadReplyError, match="status 503"):
        check_search(reply(503, {"error": "no index"}))
    with pytest.raises(BadReplyError, match="no results"):
        check_search(reply(200, {"generation": 1, "mode": "rrf", "results": [], "timings_ms": {}}))
    with pytest.raises(ValueError, match="generation"):  # pydantic's ValidationError
        check_search(reply(200, {"mode": "rrf", "results": [], "timings_ms": {}}))
    answer = {
        "generation": 3,
        "answer": "x [1].",
        "refused": False,
        "passages": [{"chunk_id": "a"}],
        "citations": [{"chunk_id": "a"}],
        "sentences": [{"method": "lexical"}, {"method": "judge"}],
    }
    assert check_query(reply(200, answer)) == Reply(3, frozenset({"a"}), False, judged=1)
    with pytest.raises(BadReplyError, match="not among the passages"):
        check_query(reply(200, {**answer, "citations": [{"chunk_id": "z"}]}))


def test_problems_name_each_way_a_run_went_wrong() -> None:
    route = {"clients": 2, "regressions": 0, "min_per_client": 5}
    figures = {
        "failures": 0,
        "mixed_replies": 0,
        "routes": {"/v1/search": route, "/v1/query": {**route, "min_per_client": 0}},
        "ingests": [{"round": 1, "exit": 0}, {"round": 2, "exit": "timeout"}],
        "generations": {"built": [1, 2], "seen": [1], "metric": 1},
    }
    assert problems(figures) == [
        "/v1/query: a client got no reply",
        "ingest round 2: exit timeout",
        "generations built [1, 2], served [1]",
        "/metrics says generation 1 after the run",
    ]
    figures["routes"]["/v1/query"] = route
    figures["ingests"] = figures["ingests"][:1]
    figures["generations"] = {"built": [1, 2], "seen": [1, 2], "metric": 2}
    assert problems(figures) == []
