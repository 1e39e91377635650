"""Peak memory: of building an index (everything but embedding) and of the
service answering searches over it, at each corpus size.

The build runs in its own process (`bench.synthetic_index`), so its peak is
the writer's: store, BM25 over the analysed text, FAISS. The service is
`rag serve` in its own process; its peak is read from /proc after the
queries. rank-bm25's memory, the baseline for the BM25 part, is in
`rag bench bm25`'s peak_rss_mib column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import table, write_results
from bench.http import _through_http, prepared_index
from bench.synthetic import zipf_corpus, zipf_queries
from bench.synthetic_index import figures


def run(sizes: list[int], n_queries: int, work: Path, out: Path | None) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        index = prepared_index(work, size)
        questions = [" ".join(q) for q in zipf_queries(zipf_corpus(size), n_queries)]
        served = _through_http(index, size, questions, [1])[0]
        rows.append(
            {
                "chunks": size,
                **{k: v for k, v in figures(index).items() if k != "chunks"},
                "index_mib": _folder_mib(index),
                "service_rss_mib": served["rss_mib"],
                "service_peak_rss_mib": served["peak_rss_mib"],
            }
        )
    print(
        table(
            rows,
            [
                "chunks",
                "build_s",
                "build_peak_rss_mib",
                "index_mib",
                "service_rss_mib",
                "service_peak_rss_mib",
            ],
        )
    )
    write_results(out, "memory", {"sizes": sizes, "queries": n_queries}, rows)
    return rows


def _folder_mib(folder: Path) -> float:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return round(total / 2**20, 1)
