"""The scaling curve: ingest time and query latency against corpus size.

Reads what the other benchmarks wrote into one results folder: `memory.json`
(index build time per size), `http.json` (search p50 through HTTP, one
client) and `ingest.json` (embedding throughput of the default backend). The
ingest time of a size is its build time plus its chunks at the measured
embedding rate: embedding 1M chunks is projected, not run (14 hours here),
and the plot says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import table, write_results


def run(results: Path, out: Path | None) -> list[dict[str, Any]]:
    memory = _load(results / "memory.json")
    http = _load(results / "http.json")
    rate = _embedding_rate(_load(results / "ingest.json"))
    p50 = {r["chunks"]: r["p50_ms"] for r in http if r["path"] == "http" and r["clients"] == 1}
    rows = []
    for row in memory:
        chunks = row["chunks"]
        embed_s = chunks / rate if rate else None
        rows.append(
            {
                "chunks": chunks,
                "build_s": row["build_s"],
                "embed_s_projected": round(embed_s) if embed_s else None,
                "ingest_h": round((row["build_s"] + (embed_s or 0)) / 3600, 2),
                "search_p50_ms": p50.get(chunks),
                "service_peak_rss_mib": row["service_peak_rss_mib"],
            }
        )
    print(table(rows, list(rows[0]) if rows else ["chunks"]))
    _plot(rows, rate, results / "scaling.png")
    write_results(out, "scaling", {"results": str(results), "embed_per_s": rate}, rows)
    return rows


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    results = json.loads(path.read_text(encoding="utf-8"))["results"]
    return list(results) if isinstance(results, list) else [results]


def _embedding_rate(ingest: list[dict[str, Any]]) -> float | None:
    rows = ingest[0].get("ingest", []) if ingest else []
    rates = [
        r["chunks_per_s"] for r in rows if r["backend"] == "onnx-int8" and "scifact" in r["corpus"]
    ]
    return float(rates[0]) if rates else None


def _plot(rows: list[dict[str, Any]], rate: float | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["chunks"] for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.loglog(sizes, [r["build_s"] for r in rows], "o-", label="index build (measured)")
    if rate:
        left.loglog(
            sizes,
            [r["chunks"] / rate for r in rows],
            "s--",
            label=f"embedding at {rate:.0f}/s (projected)",
        )
    left.set(xlabel="chunks", ylabel="seconds", title="Ingest time")
    left.legend()
    served = [(r["chunks"], r["search_p50_ms"]) for r in rows if r["search_p50_ms"] is not None]
    right.semilogx(
        [s for s, _ in served], [ms for _, ms in served], "o-", label="/v1/search p50, 1 client"
    )
    right.axhline(10, color="grey", linestyle=":", label="target at 100k (10 ms)")
    right.axhline(20, color="grey", linestyle="--", label="target at 1M (20 ms)")
    right.set(xlabel="chunks", ylabel="ms", title="Search latency through HTTP")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
