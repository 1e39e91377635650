"""Bytes per vector and recall@10 of the FAISS index types a shard could use,
for the sizing arithmetic of `docs/distributed.md`.

    python -m bench.shard_sizing --vectors 200000 --queries 500

Synthetic clustered unit vectors (`bench.synthetic.clustered_vectors`, as
`rag bench dense` uses), 384 dimensions as MiniLM's; recall@10 against exact
search over the same vectors. IVF lists: 4 sqrt(N), as `rag.index.dense`;
the coarse quantizer is trained once and shared, so every IVF row differs
only in how it codes the vectors. Runs FAISS on one thread.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from bench.synthetic import clustered_vectors

DIM = 384
K = 10
RERANK = 100
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Row:
    index: str
    nprobe: int | None
    bytes_per_vector: float
    recall: float
    build_s: float


def measure(n: int, queries: int, seed: int = 0) -> list[Row]:
    faiss.omp_set_num_threads(1)
    every = clustered_vectors(n + queries, DIM, seed=seed)
    base, probe = every[:n], every[n:]
    exact = faiss.IndexFlatIP(DIM)
    exact.add(base)
    truth = exact.search(probe, K)[1]
    sample = base[np.random.default_rng(seed).choice(n, min(n, 100_000), replace=False)]
    started = time.perf_counter()
    quantizer = faiss.IndexFlatIP(DIM)
    nlist = int(4 * math.sqrt(n))
    kmeans = faiss.Clustering(DIM, nlist)
    kmeans.spherical = True
    kmeans.train(sample, quantizer)
    coarse_s = time.perf_counter() - started
    rows = [Row("flat", None, _size(exact) / n, 1.0, 0.0)]
    makers: dict[str, Callable[[], Any]] = {
        "ivf-sq8": lambda: faiss.IndexIVFScalarQuantizer(
            quantizer, DIM, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        ),
        "ivf-pq96": lambda: faiss.IndexIVFPQ(
            quantizer, DIM, nlist, 96, 8, faiss.METRIC_INNER_PRODUCT
        ),
        "ivf-pq48": lambda: faiss.IndexIVFPQ(
            quantizer, DIM, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT
        ),
    }
    for name, make in makers.items():
        started = time.perf_counter()
        index = make()
        index.train(sample)
        index.add(base)
        build_s = coarse_s + time.perf_counter() - started
        per_vector = (_size(index) - _size(quantizer)) / n
        for nprobe in (16, 64):
            index.nprobe = nprobe
            found = index.search(probe, K)[1]
            rows.append(Row(name, nprobe, per_vector, _recall(found, truth), build_s))
        index.nprobe = 16
        reranked = _reranked(index.search(probe, RERANK)[1], base, probe)
        rows.append(
            Row(
                f"{name} + exact re-rank of {RERANK}",
                16,
                per_vector,
                _recall(reranked, truth),
                build_s,
            )
        )
    return rows


def _reranked(
    candidates: npt.NDArray[np.int64], base: Vectors, probe: Vectors
) -> npt.NDArray[np.int64]:
    """The top K of each query's candidates by exact inner product with the
    stored float vectors (`embeddings.npy`, read from disk for these rows only)."""
    out = np.empty((len(probe), K), dtype=np.int64)
    for i, (found, query) in enumerate(zip(candidates, probe, strict=True)):
        rows = found[found >= 0]
        scores = base[rows] @ query
        out[i] = rows[np.argsort(-scores, kind="stable")[:K]]
    return out


def _size(index: faiss.Index) -> int:
    return int(faiss.serialize_index(index).size)


def _recall(found: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    hits = sum(len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist(), strict=True))
    return hits / truth.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    print("| index | nprobe | bytes/vector | recall@10 | build s |")
    print("|---|---|---|---|---|")
    for row in measure(args.vectors, args.queries):
        nprobe = "" if row.nprobe is None else row.nprobe
        print(
            f"| {row.index} | {nprobe} | {row.bytes_per_vector:.1f} | {row.recall:.3f} "
            f"| {row.build_s:.1f} |"
        )


if __name__ == "__main__":
    main()
