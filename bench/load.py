"""Load and soak: concurrent search and query clients against `rag serve` while
ingests replace the index generation under them.

The corpus (the demo guide by default) is copied under `--work` and indexed
by `rag ingest`; `rag serve` runs in its own process. Clients post
`/v1/search` and `/v1/query` (extractive answers) in a loop. Meanwhile each
ingest round rewrites one note and adds another, so every generation holds
chunks the others lack, and runs `rag ingest` on the copy; the service swaps
to the new generation by itself. Each reply names its generation; afterwards
every chunk id a reply returned is looked up in that generation's store, so
a reply mixing two generations is caught. The run is bounded by time (at most
twice `seconds`, when an ingest finishes late) and by a request budget.

With `via="api"` each round uploads its files through the service's own
ingest route instead (`bench.load_upload`), and the run also reports how
soon after each job the new file is found.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from bench.common import rss_mib, table, write_results
from bench.http import clean_env, rag_command, serving
from bench.load_clients import QUERY, SEARCH, Budget, Client, Tally
from bench.load_upload import upload_round
from rag.errors import RagError
from rag.index.generations import current_generation
from rag.index.manifest import Manifest
from rag.index.snapshot import STORE
from rag.index.store import Store

NOTE = "load-note.md"
SWAP_GRACE_S = 8.0  # service.reload_interval_s (2 s) twice, and opening the generation
SEARCHABLE_WITHIN_S = 5.0  # an uploaded file, after its job ends
SEARCH_QUESTIONS = [
    "What happens when an ingest is killed halfway?",
    "How are encrypted PDFs handled?",
    "What is the constant k in reciprocal rank fusion?",
    "Which embedding model does the index use?",
    "How does the service swap to a new index generation?",
    "Which load test round rewrote the load note?",
    "What does rag index stats show?",
    "How are citations checked against the passages?",
]
# Answered from the notes this run writes, whose sentences the lexical support test
# settles: a cited passage with a negation word anywhere sends the sentence to the
# LLM judge (seconds per sentence), which is not what this run measures.
QUERY_QUESTIONS = [
    "Which load test round rewrote the load note?",
    "Which round of the load test added this file?",
    "Which generation holds the text of the load note?",
]


ROUTE_COLUMNS = [
    "route",
    "clients",
    "requests",
    "shed",
    "failures",
    "p50_ms",
    "p95_ms",
    "max_ms",
    "per_s",
]


@dataclass(frozen=True)
class LoadPlan:
    search_clients: int
    query_clients: int
    seconds: float
    ingests: int
    max_requests: int
    corpus: Path
    work: Path
    sample_s: float = 2.0
    via: str = "cli"  # or "api": rounds uploaded to POST /v1/collections/default/documents


def run(plan: LoadPlan, out: Path | None, name: str = "load") -> dict[str, Any]:
    corpus, index = _prepare(plan)
    chunk_sets = {_generation(index): _chunk_ids(index)}
    with serving(index, plan.work / "serve.log", clean_env()) as (base, server):
        ready_mib = rss_mib(server.pid)["rss_mib"]
        figures = _drive(plan, base, server.pid, corpus, index, chunk_sets)
        figures["generations"]["metric"] = _served_generation(base)
    figures["rss_mib"]["ready"] = ready_mib
    _print(figures)
    config = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(plan).items()}
    write_results(out, name, config, figures)
    return figures


def sweep(plan: LoadPlan, counts: list[int], out: Path | None) -> dict[str, Any]:
    """The load at each number of search clients in turn (no ingests), one
    service throughout: how the admitted requests' latency and the shed share
    change as the clients grow."""
    corpus, index = _prepare(plan)
    chunk_sets = {_generation(index): _chunk_ids(index)}
    runs = []
    with serving(index, plan.work / "serve.log", clean_env()) as (base, server):
        for count in counts:
            step = replace(plan, search_clients=count, ingests=0)
            runs.append(_drive(step, base, server.pid, corpus, index, chunk_sets))
    rows = [
        {"search_clients": n, **{k: r[k] for k in ("requests", "shed", "failures")}, **route}
        for n, r in zip(counts, runs, strict=True)
        for route in [{"route": k, **v} for k, v in r["routes"].items()]
    ]
    print(table(rows, ["search_clients", *ROUTE_COLUMNS]))
    config = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(plan).items()}
    figures = {"counts": counts, "runs": runs}
    write_results(out, "load-sweep", {**config, "sweep": counts}, figures)
    return figures


def _prepare(plan: LoadPlan) -> tuple[Path, Path]:
    """A fresh copy of the corpus with the round-0 note, indexed as generation 1."""
    corpus, index = plan.work / "corpus", plan.work / "index"
    for stale in (corpus, index):
        shutil.rmtree(stale, ignore_errors=True)
    if plan.corpus.is_dir():
        shutil.copytree(plan.corpus, corpus)
    else:
        corpus.mkdir(parents=True)
        shutil.copy(plan.corpus, corpus)
    _write_round(corpus, 0)
    done = _ingest(corpus, index, timeout_s=1800)
    if done.returncode != 0:
        detail = done.stderr.strip()[-2000:]
        raise RagError(f"rag ingest of {plan.corpus} exited with {done.returncode}: {detail}")
    return corpus, index


def _write_round(corpus: Path, number: int) -> None:
    (corpus / NOTE).write_text(
        f"# Load note\n\nLoad test round {number} rewrote this load note. "
        f"The generation built in round {number} holds this text of the load note, "
        "and the text of every other round is gone from it.\n",
        encoding="utf-8",
    )
    if number:
        (corpus / f"load-added-{number}.md").write_text(
            f"# Added in round {number}\n\nLoad test round {number} added this file. "
            f"Its chunks exist from the generation built in round {number} on.\n",
            encoding="utf-8",
        )


def _ingest(corpus: Path, index: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    command = rag_command("ingest", str(corpus), "--index", str(index), "--no-progress")
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout_s, check=False, env=clean_env()
    )


def _generation(index: Path) -> int:
    return Manifest.read(current_generation(index)).generation


def _chunk_ids(index: Path) -> frozenset[str]:
    store = Store(current_generation(index) / STORE)
    try:
        return frozenset(c.chunk_id for d in store.documents() for c in store.chunks_of(d.doc_id))
    finally:
        store.close()


def _drive(
    plan: LoadPlan,
    base: str,
    pid: int,
    corpus: Path,
    index: Path,
    chunk_sets: dict[int, frozenset[str]],
) -> dict[str, Any]:
    budget = Budget(plan.max_requests)
    started = time.perf_counter()
    tallies = [Tally(SEARCH.path, plan.search_clients), Tally(QUERY.path, plan.query_clients)]
    threads = _start_clients(base, budget, started, tallies)
    sampler = RssSampler(pid, plan.sample_s, started)
    try:
        rounds = _ingest_rounds(plan, base, corpus, index, started, chunk_sets)
        ends = [r["done_s"] + SWAP_GRACE_S for r in rounds if "done_s" in r]
        stop_at = min(max([plan.seconds, *ends]), 2 * plan.seconds)
        _sleep_until(started, stop_at)
    finally:
        budget.stop.set()
        for thread in threads:
            thread.join()
        sampler.close()
    ran_s = time.perf_counter() - started
    return _figures(tallies, rounds, chunk_sets, sampler, ran_s, plan.seconds)


def _start_clients(
    base: str, budget: Budget, started: float, tallies: list[Tally]
) -> list[threading.Thread]:
    threads = []
    asked = (SEARCH_QUESTIONS, QUERY_QUESTIONS)
    for route, questions, tally in zip((SEARCH, QUERY), asked, tallies, strict=True):
        client = Client(base, route, questions, budget, tally, started)
        for number in range(tally.clients):
            threads.append(threading.Thread(target=client.run, args=(number,), daemon=True))
    for thread in threads:
        thread.start()
    return threads


def _ingest_rounds(
    plan: LoadPlan,
    base: str,
    corpus: Path,
    index: Path,
    started: float,
    chunk_sets: dict[int, frozenset[str]],
) -> list[dict[str, Any]]:
    """Ingest rounds spread over the first 60% of the run, one after another."""
    rounds = []
    for number in range(1, plan.ingests + 1):
        share = 0.1 + 0.5 * (number - 1) / max(1, plan.ingests - 1)
        _sleep_until(started, plan.seconds * share)
        if time.perf_counter() - started > 2 * plan.seconds:
            break
        _write_round(corpus, number)
        begun = time.perf_counter() - started
        row: dict[str, Any] = {"round": number, "start_s": round(begun, 1)}
        if plan.via == "api":
            files = [corpus / NOTE, corpus / f"load-added-{number}.md"]
            marker = f"Load test round {number} added this file"
            row.update(upload_round(base, files, marker, files[1].name))
        else:
            row["exit"] = _run_ingest(corpus, index, plan.seconds)
        if row["exit"] == 0:
            row["done_s"] = round(time.perf_counter() - started, 1)
            row["seconds"] = round(row["done_s"] - begun, 1)
            row["generation"] = _generation(index)
            chunk_sets[row["generation"]] = _chunk_ids(index)
        rounds.append(row)
    return rounds


def _run_ingest(corpus: Path, index: Path, seconds: float) -> int | str:
    try:
        return _ingest(corpus, index, timeout_s=2 * seconds).returncode
    except subprocess.TimeoutExpired:
        return "timeout"


def _sleep_until(started: float, at_s: float) -> None:
    time.sleep(max(0.0, at_s - (time.perf_counter() - started)))


class RssSampler:
    """The service's resident memory every `every_s` seconds, in a thread."""

    def __init__(self, pid: int, every_s: float, started: float) -> None:
        self.samples: list[tuple[float, float]] = []
        self._pid, self._every, self._started = pid, every_s, started
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self._every):
                return

    def _sample(self) -> None:
        at = round(time.perf_counter() - self._started, 1)
        self.samples.append((at, rss_mib(self._pid)["rss_mib"]))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def figures(self, warm_s: float) -> dict[str, Any]:
        warm = next((mib for at, mib in self.samples if at >= warm_s), self.samples[-1][1])
        end = self.samples[-1][1]
        return {
            "warm": warm,
            "warm_at_s": warm_s,
            "end": end,
            "max": max(mib for _, mib in self.samples),
            "growth": round(end - warm, 1),
            "samples": [list(s) for s in self.samples],
        }


def _figures(
    tallies: list[Tally],
    rounds: list[dict[str, Any]],
    chunk_sets: dict[int, frozenset[str]],
    sampler: RssSampler,
    ran_s: float,
    seconds: float,
) -> dict[str, Any]:
    mixed, samples = mixed_replies(tallies, chunk_sets)
    routes = {t.route: t.figures(ran_s) for t in tallies}
    return {
        "ran_s": round(ran_s, 1),
        "requests": sum(r["requests"] for r in routes.values()),
        "failures": sum(r["failures"] for r in routes.values()),
        "shed": sum(r["shed"] for r in routes.values()),
        "mixed_replies": mixed,
        "mixed_samples": samples,
        "routes": routes,
        "generations": _generations(tallies, chunk_sets),
        "ingests": rounds,
        "rss_mib": sampler.figures(warm_s=0.1 * seconds),
    }


def mixed_replies(
    tallies: list[Tally], chunk_sets: dict[int, frozenset[str]]
) -> tuple[int, list[str]]:
    """Replies naming a generation that lacks one of the chunks they returned."""
    count, samples = 0, []
    for tally in tallies:
        for (generation, ids), n in tally.served.items():
            known = chunk_sets.get(generation, frozenset())
            if not ids <= known:
                count += n
                stray = sorted(ids - known)[:3]
                samples.append(f"{tally.route} generation {generation}: {n} x chunks {stray}")
    return count, samples[:20]


def _generations(tallies: list[Tally], chunk_sets: dict[int, frozenset[str]]) -> dict[str, Any]:
    replies: Counter[int] = Counter()
    served: dict[int, set[str]] = {}
    for tally in tallies:
        for (generation, ids), n in tally.served.items():
            replies[generation] += n
            served.setdefault(generation, set()).update(ids)
    first = min(chunk_sets)
    fresh = {  # chunks served from a generation that the first generation lacked
        g: len(ids - chunk_sets[first]) for g, ids in served.items() if g in chunk_sets
    }
    first_seen = [t.first_seen_s for t in tallies]
    return {
        "built": sorted(chunk_sets),
        "seen": sorted(replies),
        "replies": {str(g): n for g, n in sorted(replies.items())},
        "fresh_chunks_served": {str(g): n for g, n in sorted(fresh.items())},
        "first_seen_s": {str(g): min(s[g] for s in first_seen if g in s) for g in sorted(replies)},
    }


def _served_generation(base: str) -> int | None:
    """The generation /metrics reports, after the load."""
    for line in httpx.get(f"{base}/metrics", timeout=30).text.splitlines():
        if line.startswith("rag_index_generation "):
            return int(float(line.split()[1]))
    return None


def _print(figures: dict[str, Any]) -> None:
    rows = [{"route": route, **r} for route, r in figures["routes"].items()]
    print(table(rows, ROUTE_COLUMNS))
    generations, rss = figures["generations"], figures["rss_mib"]
    print(
        f"{figures['requests']} requests admitted in {figures['ran_s']} s, {figures['shed']} "
        f"shed (503, Retry-After), {figures['failures']} failed, "
        f"{figures['mixed_replies']} mixed generations; generations built "
        f"{generations['built']}, seen {generations['seen']}, first seen at "
        f"{generations['first_seen_s']} s; service RSS {rss['warm']} MiB at "
        f"{rss['warm_at_s']} s, {rss['end']} MiB at the end (max {rss['max']})"
    )
    for row in figures["ingests"]:
        print(f"ingest round {row}", file=sys.stderr)


def problems(figures: dict[str, Any]) -> list[str]:
    """What went wrong in a run: nothing when every request succeeded whole from one
    generation, every client progressed and the service served every generation built."""
    found = []
    if figures["failures"]:
        found.append(f"{figures['failures']} requests failed")
    if figures["mixed_replies"]:
        found.append(f"{figures['mixed_replies']} replies mixed generations")
    for route, r in figures["routes"].items():
        if r["regressions"]:
            found.append(f"{route}: {r['regressions']} replies from an older generation")
        if r["clients"] and not r["min_per_client"]:
            found.append(f"{route}: a client got no reply")
    found += [
        f"ingest round {r['round']}: exit {r['exit']}" for r in figures["ingests"] if r["exit"]
    ]
    found += [
        f"ingest round {r['round']}: found {r['searchable_s']} s after its job"
        for r in figures["ingests"]
        if (r.get("searchable_s") or 0) > SEARCHABLE_WITHIN_S
    ]
    generations = figures["generations"]
    if generations["seen"] != generations["built"]:
        found.append(f"generations built {generations['built']}, served {generations['seen']}")
    if generations["metric"] != max(generations["built"]):
        found.append(f"/metrics says generation {generations['metric']} after the run")
    return found
