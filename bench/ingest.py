"""Ingest throughput: chunks per second end to end (load, chunk, embed, write),
per embedding backend, on a SciFact slice and on the PDFs in `../shared/pdfs`;
and embedding alone, with each backend's cosine to the torch float32 vectors.

The baseline is the torch backend (sentence-transformers float32, default
settings) with files parsed before embedding, one at a time (`parse_workers`
0); ratios are ours over it. The default backend also runs both ways, so the
table shows what parsing beside the embedding gains alone. Models are loaded
(and exported to ONNX) before timing starts, as a long-running ingest would
amortise them.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ratio, table, write_results
from ingest.run import Options, run_ingest
from rag.embedding import Embedder, make_embedder
from rag.settings import EmbeddingBackend, EmbeddingSettings, IngestSettings, build_settings

SAMPLE = 256


def run(
    backends: list[EmbeddingBackend],
    dataset: Path | None,
    limit: int,
    pdfs: Path | None,
    out: Path | None,
) -> dict[str, Any]:
    embedders = {b: make_embedder(EmbeddingSettings(backend=b)) for b in backends}
    with tempfile.TemporaryDirectory() as tmp:
        corpora = _corpora(Path(tmp), dataset, limit, pdfs)
        ingest_rows = [
            _ingest(name, paths, backend, workers, embedders[backend], Path(tmp))
            for (name, paths), (backend, workers) in itertools.product(
                corpora.items(), _variants(backends)
            )
        ]
        texts = _sample_texts(ingest_rows)
    _add_ratios(ingest_rows, "chunks_per_s", ("corpus",))
    embed_rows = _embedding_alone(embedders, texts)
    print(
        table(
            ingest_rows,
            [
                "corpus",
                "backend",
                "parse_workers",
                "chunks",
                "seconds",
                "chunks_per_s",
                "speedup",
                "parse_s",
                "load_s",
                "chunk_s",
                "embed_s",
                "write_s",
            ],
        )
    )
    print(table(embed_rows, ["backend", "passages_per_s", "speedup", "cosine_mean", "cosine_min"]))
    results = {"ingest": ingest_rows, "embedding": embed_rows}
    config = {"backends": [b.value for b in backends], "limit": limit, "sample": len(texts)}
    write_results(out, "ingest", config, results)
    return results


def _corpora(
    tmp: Path, dataset: Path | None, limit: int, pdfs: Path | None
) -> dict[str, list[Path]]:
    corpora = {}
    if dataset is not None and (dataset / "corpus.jsonl").exists():
        folder = tmp / "scifact"
        folder.mkdir()
        with (dataset / "corpus.jsonl").open(encoding="utf-8") as source:
            lines = list(itertools.islice(source, limit))
        (folder / "corpus.jsonl").write_text("".join(lines), encoding="utf-8")
        corpora[f"scifact-{len(lines)}"] = [folder]
    if pdfs is not None and pdfs.exists():
        corpora["pdfs"] = [pdfs]
    return corpora


def _variants(backends: list[EmbeddingBackend]) -> list[tuple[EmbeddingBackend, int]]:
    """(backend, parse workers) pairs: the torch baseline parses serially, the
    default backend both ways, the others with the default pipeline."""
    default = EmbeddingSettings().backend
    variants = []
    for backend in backends:
        if backend is EmbeddingBackend.TORCH or backend is default:
            variants.append((backend, 0))
        if backend is not EmbeddingBackend.TORCH:
            variants.append((backend, IngestSettings().parse_workers))
    return variants


def _ingest(
    name: str,
    paths: list[Path],
    backend: EmbeddingBackend,
    workers: int,
    embedder: Embedder,
    tmp: Path,
) -> dict[str, Any]:
    index = tmp / f"{name}-{backend}-{workers}"
    settings = build_settings(
        {
            "index_dir": index,
            "embedding": {"backend": backend.value},
            "ingest": {"parse_workers": workers},
        },
        use_env=False,
    )
    report = run_ingest(settings, Options(paths), lambda: embedder)
    phases = report.phases
    return {
        "corpus": name,
        "backend": backend.value,
        "parse_workers": workers,
        "chunks": report.chunks_total,
        "seconds": round(report.seconds, 1),
        "chunks_per_s": round(report.chunks_total / report.seconds, 1),
        # parse_s is the parsing itself; load_s is the time the ingest waited for it
        "parse_s": round(report.parse_seconds, 1),
        "load_s": round(phases.get("scanning", 0) + phases.get("loading", 0), 1),
        "chunk_s": round(phases.get("chunking", 0), 1),
        "embed_s": round(phases.get("embedding", 0), 1),
        "write_s": round(phases.get("writing", 0) + phases.get("switching", 0), 1),
        "index": str(index),
    }


def _sample_texts(rows: list[dict[str, Any]]) -> list[str]:
    from rag.index.snapshot import open_current

    texts: list[str] = []
    for row in rows:
        snapshot = open_current(Path(row.pop("index")))
        try:
            if len(texts) < SAMPLE:
                texts += [text for _, text, _ in snapshot.store.chunk_texts()][
                    : SAMPLE - len(texts)
                ]
        finally:
            snapshot.close()
    return texts


def _embedding_alone(
    embedders: dict[EmbeddingBackend, Embedder], texts: list[str]
) -> list[dict[str, Any]]:
    rows, vectors = [], {}
    for backend, embedder in embedders.items():
        embedder.embed(texts[:8])
        started = time.perf_counter()
        vectors[backend] = embedder.embed(texts)
        seconds = time.perf_counter() - started
        rows.append({"backend": backend.value, "passages_per_s": round(len(texts) / seconds, 1)})
    reference = vectors.get(EmbeddingBackend.TORCH)
    for row, backend in zip(rows, embedders, strict=True):
        if reference is not None:
            cosine = (vectors[backend] * reference).sum(axis=1)
            row |= {
                "cosine_mean": round(float(cosine.mean()), 4),
                "cosine_min": round(float(cosine.min()), 4),
            }
    _add_ratios(rows, "passages_per_s", ())
    return rows


def _add_ratios(rows: list[dict[str, Any]], figure: str, group: tuple[str, ...]) -> None:
    """`speedup`: each row's figure over the torch row's in the same group."""
    for row in rows:
        base = [r for r in rows if r["backend"] == "torch" and all(r[g] == row[g] for g in group)]
        if base:
            row["speedup"] = ratio(row[figure], base[0][figure])
