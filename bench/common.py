"""What every benchmark shares: timing, percentiles, the machine, the JSON out.

Latencies are medians over repeated runs after a warm-up; a baseline is timed
in the same run on the same data, and reported as a ratio of medians.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def machine() -> dict[str, Any]:
    """CPU model, cores, vector extensions and memory: figures depend on them."""
    model, flags = "", set[str]()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile")
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "vector_extensions": [f for f in wanted if f in flags],
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
    }


def timed_ms(call: Callable[[T], object], items: Sequence[T], warmup: int = 5) -> list[float]:
    """Wall time of `call(item)` per item, in ms, after `warmup` untimed calls."""
    for item in items[:warmup]:
        call(item)
    times = []
    for item in items:
        started = time.perf_counter()
        call(item)
        times.append((time.perf_counter() - started) * 1000)
    return times


def percentile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latency(ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "n": len(ms),
    }


def ratio(baseline: float, ours: float) -> float:
    return round(baseline / ours, 1) if ours > 0 else float("inf")


def peak_rss_mib() -> float:
    """This process's peak resident memory so far: VmHWM, since ru_maxrss also
    keeps the peak of the process this one was forked from (a 2 GiB parent gave
    a fresh child 2 GiB)."""
    status = Path("/proc/self/status")
    if status.exists():
        return rss_mib(os.getpid())["peak_rss_mib"]
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mib(pid: int) -> dict[str, float]:
    """Current and peak resident memory of another process."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mib": fields.get("VmRSS", 0.0), "peak_rss_mib": fields.get("VmHWM", 0.0)}


def write_results(out: Path | None, name: str, config: dict[str, Any], results: Any) -> None:
    payload = {
        "benchmark": name,
        "command": _command(),
        "machine": machine(),
        "config": config,
        "results": results,
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _command() -> str:
    """The command line as a user would type it: no venv path, home as ~."""
    words = [Path(sys.argv[0]).name, *sys.argv[1:]]
    return " ".join(words).replace(str(Path.home()), "~")


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain-text table of `rows` for the terminal."""
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
