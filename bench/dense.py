"""Dense search: latency and recall@10 of each FAISS index type against exact search.

Vectors are 384-dimensional and clustered (`bench.synthetic`), around real
chunk vectors when `--index` names an index. Recall@10 is the share of the
exact top 10 (flat inner product) that an index returns; latency is one query
at a time, as the service searches. HNSW is built only up to `--hnsw-max`
vectors: at efConstruction 200 its build grows to tens of minutes at 1M on
2 cores, and `auto` picks IVF-SQ8 there anyway.

`--real` measures on the index's own vectors instead: `--queries` chunk
vectors drawn from it (seeded) are the queries, searched among the others,
beside synthetic vectors of the same count around the same centres, so one
run says whether the synthetic figures flatter the index types.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from bench.common import latency, peak_rss_mib, table, timed_ms, write_results
from bench.synthetic import clustered_vectors
from rag.errors import ConfigError
from rag.index.dense import build_dense, resolve_type, search_dense
from rag.settings import DenseIndexType, DenseSettings

Vectors = npt.NDArray[np.float32]
TYPES = (DenseIndexType.FLAT, DenseIndexType.HNSW, DenseIndexType.IVF_SQ8)
DIM = 384


def run(
    sizes: list[int],
    n_queries: int,
    hnsw_max: int,
    types: list[str],
    index: Path | None,
    out: Path | None,
    real: bool = False,
) -> list[dict[str, Any]]:
    centres = _real_vectors(index)
    rows = []
    if real:
        if centres is None:
            raise ConfigError("--real measures an index's own vectors", "name one with --index")
        vectors, queries = _held_out(centres, n_queries)
        sizes = [len(vectors)]
        rows += _rows("real", vectors, queries, types, hnsw_max)
    for size in sizes:
        vectors = clustered_vectors(size, DIM, seed=size, centres=centres)
        queries = clustered_vectors(n_queries, DIM, seed=size + 1, centres=centres)
        rows += _rows("synthetic", vectors, queries, types, hnsw_max)
        del vectors
    print(
        table(
            rows,
            [
                "vectors",
                "source",
                "type",
                "auto",
                "build_s",
                "p50_ms",
                "p95_ms",
                "recall@10",
                "size_mib",
                "peak_rss_mib",
            ],
        )
    )
    config = {
        "sizes": sizes,
        "queries": n_queries,
        "types": types,
        "dim": DIM,
        "centres": str(index or "random"),
        "real": real,
    }
    write_results(out, "dense", config, rows)
    return rows


def _rows(
    source: str, vectors: Vectors, queries: Vectors, types: list[str], hnsw_max: int
) -> list[dict[str, Any]]:
    size = len(vectors)
    exact = _exact_top10(vectors, queries)
    auto = resolve_type(size, DenseSettings())
    rows = []
    for kind in (t for t in TYPES if t.value in types):
        if kind is DenseIndexType.HNSW and size > hnsw_max:
            continue
        row = _measure(kind, vectors, queries, exact)
        marks = {"vectors": size, "source": source, "auto": "yes" if kind is auto else ""}
        rows.append(marks | row)
    return rows


def _held_out(vectors: Vectors, n_queries: int) -> tuple[Vectors, Vectors]:
    """`n_queries` of `vectors` as queries, the rest as the searched set."""
    if n_queries >= len(vectors):
        raise ConfigError(
            f"--queries {n_queries} leaves none of the index's {len(vectors)} vectors",
            "ask for fewer queries",
        )
    chosen = np.random.default_rng(0).choice(len(vectors), n_queries, replace=False)
    kept = np.ones(len(vectors), dtype=bool)
    kept[chosen] = False
    return np.ascontiguousarray(vectors[kept]), np.ascontiguousarray(vectors[chosen])


def _measure(
    kind: DenseIndexType, vectors: Vectors, queries: Vectors, exact: Any
) -> dict[str, Any]:
    started = time.perf_counter()
    index = build_dense(vectors, DenseSettings(index_type=kind))
    build_s = round(time.perf_counter() - started, 1)
    found = [search_dense(index, q, 10).positions for q in queries]
    recall = np.mean(
        [len(set(f.tolist()) & set(e.tolist())) / 10 for f, e in zip(found, exact, strict=True)]
    )
    timing = latency(timed_ms(lambda q: search_dense(index, q, 10), list(queries)))
    return {
        "type": kind.value,
        "build_s": build_s,
        **timing,
        "recall@10": round(float(recall), 3),
        "size_mib": _size_mib(index),
        "peak_rss_mib": peak_rss_mib(),
    }


def _exact_top10(vectors: Vectors, queries: Vectors) -> npt.NDArray[np.int64]:
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    _, positions = flat.search(queries, 10)
    return np.asarray(positions, dtype=np.int64)


def _size_mib(index: faiss.Index) -> float:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as handle:
        faiss.write_index(index, handle.name)
        return round(Path(handle.name).stat().st_size / 2**20, 1)


def _real_vectors(index: Path | None) -> Vectors | None:
    if index is None:
        return None
    from rag.index.snapshot import open_current

    snapshot = open_current(index)
    try:
        return np.asarray(snapshot.embeddings, dtype=np.float32).copy()
    finally:
        snapshot.close()
