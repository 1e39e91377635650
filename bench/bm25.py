"""BM25 query latency, top-100: our sparse index against rank-bm25.

Sizes are synthetic Zipfian corpora (see `bench.synthetic`); SciFact's 5,183
abstracts with its test queries give the same figure on real text. Our index
is timed with the default settings (Lucene idf, k1 0.9, b 0.4). rank-bm25's
time covers scoring plus the same top-100 selection; for the top-10 overlap,
a second index of ours uses rank-bm25's BM25Okapi parameters (k1 1.5, b 0.75,
epsilon 0.25), so the two compute the same ranking. (Okapi's epsilon floor
gives the commonest terms a large idf, which defeats MaxScore's pruning: with
it our 1M-chunk p50 was 12 ms instead of about 2.) rank-bm25 is skipped above
`--baseline-max` chunks: at 1M it needed 12 GB and 2.4 s per query here.

bm25s, the peer a retrieval engineer would pick (sparse matrices, numba when
installed), runs in the same process on the same terms with our default
parameters (Lucene idf, k1 0.9, b 0.4), one query at a time with one thread,
as the service searches; its top 10 is compared with ours. It is a benchmark
dependency (`rag[bench]`), skipped with a note when absent.
"""

from __future__ import annotations

import importlib.util
import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import latency, peak_rss_mib, ratio, table, timed_ms, write_results
from bench.synthetic import TermCorpus, zipf_corpus, zipf_queries
from rag.index.bm25 import BM25Index
from rag.settings import BM25Method, BM25Settings

OKAPI = BM25Settings(method=BM25Method.OKAPI, k1=1.5, b=0.75, epsilon=0.25)
TOP = 100


def run(
    sizes: list[int], n_queries: int, baseline_max: int, scifact: Path | None, out: Path | None
) -> list[dict[str, Any]]:
    rows = []
    if scifact is not None and (scifact / "corpus.jsonl").exists():
        rows.append(_measure("scifact", *_scifact(scifact, n_queries), baseline=True))
    for size in sizes:
        corpus = zipf_corpus(size)
        queries = zipf_queries(corpus, n_queries)
        rows.append(_measure(str(size), corpus, queries, baseline=size <= baseline_max))
    print(
        table(
            rows,
            [
                "corpus",
                "chunks",
                "build_s",
                "p50_ms",
                "p95_ms",
                "baseline_p50_ms",
                "speedup",
                "overlap@10",
                "bm25s_p50_ms",
                "vs_bm25s",
                "bm25s_overlap@10",
                "peak_rss_mib",
            ],
        )
    )
    write_results(out, "bm25", {"sizes": sizes, "queries": n_queries, "top": TOP}, rows)
    return rows


def _measure(
    name: str, corpus: TermCorpus, queries: list[list[str]], baseline: bool
) -> dict[str, Any]:
    started = time.perf_counter()
    index = BM25Index.from_term_ids(corpus.lengths, corpus.term_ids, corpus.vocab, BM25Settings())
    row: dict[str, Any] = {
        "corpus": name,
        "chunks": len(corpus.lengths),
        "build_s": round(time.perf_counter() - started, 1),
        **latency(timed_ms(lambda q: index.search(q, TOP), queries)),
    }
    if baseline:
        row |= _baseline(corpus, queries)
        row["speedup"] = ratio(row["baseline_p50_ms"], row["p50_ms"])
    row |= _bm25s(corpus, queries, index)
    if "bm25s_p50_ms" in row:
        row["vs_bm25s"] = ratio(row["bm25s_p50_ms"], row["p50_ms"])
    row["peak_rss_mib"] = peak_rss_mib()
    return row


def _baseline(corpus: TermCorpus, queries: list[list[str]]) -> dict[str, Any]:
    from rank_bm25 import BM25Okapi

    starts = np.concatenate([[0], np.cumsum(corpus.lengths)])
    docs = [corpus.words(corpus.term_ids[a:b]) for a, b in itertools.pairwise(starts)]
    reference = BM25Okapi(docs, k1=OKAPI.k1, b=OKAPI.b, epsilon=OKAPI.epsilon)
    del docs

    def top(query: list[str]) -> np.ndarray:
        scores = reference.get_scores(query)
        best = np.argpartition(-scores, TOP - 1)[:TOP]
        return best[np.argsort(-scores[best], kind="stable")]

    timing = latency(timed_ms(top, queries[: max(5, len(queries) // 4)], warmup=1))
    ours = BM25Index.from_term_ids(corpus.lengths, corpus.term_ids, corpus.vocab, OKAPI)
    overlap = [
        len(set(top(q)[:10].tolist()) & set(ours.search(q, 10).positions.tolist())) / 10
        for q in queries[:20]
    ]
    return {
        "baseline_p50_ms": timing["p50_ms"],
        "overlap@10": round(float(np.mean(overlap)), 3),
    }


def _bm25s(corpus: TermCorpus, queries: list[list[str]], ours: BM25Index) -> dict[str, Any]:
    try:
        import bm25s
    except ImportError:
        print("bm25s is not installed (pip install 'rag[bench]'): its columns are left empty")
        return {}
    backend = "numba" if importlib.util.find_spec("numba") else "numpy"
    settings = BM25Settings()
    peer = bm25s.BM25(method="lucene", k1=settings.k1, b=settings.b, backend=backend)
    starts = np.concatenate([[0], np.cumsum(corpus.lengths)])
    peer.index(
        [corpus.words(corpus.term_ids[a:b]) for a, b in itertools.pairwise(starts)],
        show_progress=False,
    )

    def top(query: list[str]) -> np.ndarray:
        found, _ = peer.retrieve([query], k=TOP, show_progress=False, n_threads=1)
        return np.asarray(found[0])

    timing = latency(timed_ms(top, queries))  # the warm-up calls compile numba's kernels
    overlap = [
        len(set(top(q)[:10].tolist()) & set(ours.search(q, 10).positions.tolist())) / 10
        for q in queries
    ]
    return {
        "bm25s_backend": backend,
        "bm25s_p50_ms": timing["p50_ms"],
        "bm25s_p95_ms": timing["p95_ms"],
        "bm25s_overlap@10": round(float(np.mean(overlap)), 3),
    }


def _scifact(folder: Path, n_queries: int) -> tuple[TermCorpus, list[list[str]]]:
    import json

    from eval.beir import load_queries
    from rag.index.terms import TermAnalyzer
    from rag.settings import TokenizerSettings

    analyzer = TermAnalyzer(TokenizerSettings())
    with (folder / "corpus.jsonl").open(encoding="utf-8") as handle:
        texts = [f"{r['title']} {r['text']}" for r in map(json.loads, handle)]
    ids: dict[str, int] = {}
    docs = [[ids.setdefault(t, len(ids)) for t in analyzer.terms(text)] for text in texts]
    lengths = np.array([len(d) for d in docs], dtype=np.int64)
    term_ids = np.array([t for d in docs for t in d], dtype=np.int32)
    queries = [analyzer.terms(q) for q in load_queries(folder, "test").texts.values()]
    return TermCorpus(lengths, term_ids, list(ids)), queries[:n_queries]
