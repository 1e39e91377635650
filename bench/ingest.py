"""Ingest throughput: chunks per second end to end (load, chunk, embed, write),
per embedding backend, on a SciFact slice and on the PDFs in `../shared/pdfs`;
and embedding alone, with each backend's cosine to the torch float32 vectors
and its operations per second as a share of the machine's int8 or float32
matmul peak, measured in the same run (`bench.matmul_peak`).

The baseline is the torch backend (sentence-transformers float32, default
settings) with files parsed by pypdf before embedding, one at a time
(`parse_workers` 0); ratios are ours over it. The default backend also runs both ways, so the
table shows what parsing beside the embedding gains alone. On the PDFs the
default backend also runs with each other PDF parser of `pdf_parsers` (pypdf,
the reference), both ways: `vs_pypdf` is the default parser's chunks per
second over pypdf's, `parse_vs_pypdf` pypdf's parse time over the default
parser's. With Tesseract installed, OCR is timed on 8 pages of a real manual
made into an image-only PDF (`ocr_pages_per_s`, with the words it recovers).
Models are loaded (and exported to ONNX) before timing starts, as a
long-running ingest would amortise them.
"""

from __future__ import annotations

import itertools
import re
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import ratio, table, write_results
from bench.scans import image_only_pdf
from ingest import ocr
from ingest.loaders.pdf import PdfLoader
from ingest.run import Options, run_ingest
from rag.embedding import Embedder, make_embedder
from rag.modes import PdfParser
from rag.settings import EmbeddingBackend, EmbeddingSettings, IngestSettings, build_settings

SAMPLE = 256
EMBED_COLUMNS = [
    "backend",
    "passages_per_s",
    "speedup",
    "cosine_mean",
    "cosine_min",
    "gops",
    "peak_kind",
    "peak_gops",
    "peak_share",
]
OCR_SOURCE = "debian/R-intro.pdf"
OCR_PAGES = tuple(range(10, 18))  # 8 pages of prose, code and lists


def run(
    backends: list[EmbeddingBackend],
    dataset: Path | None,
    limit: int,
    pdfs: Path | None,
    out: Path | None,
    pdf_parsers: list[PdfParser] | None = None,
) -> dict[str, Any]:
    embedders = {b: make_embedder(EmbeddingSettings(backend=b)) for b in backends}
    parsers = pdf_parsers or list(PdfParser)
    with tempfile.TemporaryDirectory() as tmp:
        corpora = _corpora(Path(tmp), dataset, limit, pdfs)
        ingest_rows = [
            _ingest(name, paths, variant, embedders[variant[0]], Path(tmp))
            for name, paths in corpora.items()
            for variant in _variants(backends, parsers if name == "pdfs" else [])
        ]
        texts = _sample_texts(ingest_rows)
    _add_ratios(ingest_rows, "chunks_per_s", ("corpus",))
    _add_parser_ratios(ingest_rows)
    embed_rows = _embedding_alone(embedders, texts)
    ocr_row = _ocr_rate(pdfs)
    print(
        table(
            ingest_rows,
            [
                "corpus",
                "backend",
                "parse_workers",
                "pdf_parser",
                "chunks",
                "seconds",
                "chunks_per_s",
                "speedup",
                "parse_s",
                "load_s",
                "chunk_s",
                "embed_s",
                "write_s",
                "vs_pypdf",
                "parse_vs_pypdf",
            ],
        )
    )
    print(table(embed_rows, EMBED_COLUMNS))
    if ocr_row:
        print(table([ocr_row], list(ocr_row)))
    results = {"ingest": ingest_rows, "embedding": embed_rows, "ocr": ocr_row}
    config = {
        "backends": [b.value for b in backends],
        "pdf_parsers": [p.value for p in parsers],
        "limit": limit,
        "sample": len(texts),
    }
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


Variant = tuple[EmbeddingBackend, int, PdfParser]


def _variants(backends: list[EmbeddingBackend], parsers: list[PdfParser]) -> list[Variant]:
    """(backend, parse workers, PDF parser): the torch baseline parses serially with pypdf,
    the default backend both ways, the others with the default pipeline, all
    with the default PDF parser; then the default backend both ways with each
    other parser of `parsers`."""
    default, ingest = EmbeddingSettings().backend, IngestSettings()
    variants: list[Variant] = []
    for backend in backends:
        if backend is EmbeddingBackend.TORCH:  # the baseline: the path before any of ours
            variants.append((backend, 0, PdfParser.PYPDF))
        if backend is default:
            variants.append((backend, 0, ingest.pdf_parser))
        if backend is not EmbeddingBackend.TORCH:
            variants.append((backend, ingest.parse_workers, ingest.pdf_parser))
    if default in backends:
        for parser in parsers:
            if parser is not ingest.pdf_parser:
                variants += [(default, 0, parser), (default, ingest.parse_workers, parser)]
    return variants


def _ingest(
    name: str, paths: list[Path], variant: Variant, embedder: Embedder, tmp: Path
) -> dict[str, Any]:
    backend, workers, parser = variant
    index = tmp / f"{name}-{backend}-{workers}-{parser}"
    settings = build_settings(
        {
            "index_dir": index,
            "embedding": {"backend": backend.value},
            "ingest": {"parse_workers": workers, "pdf_parser": parser.value},
        },
        use_env=False,
    )
    report = run_ingest(settings, Options(paths), lambda: embedder)
    phases = report.phases
    return {
        "corpus": name,
        "backend": backend.value,
        "parse_workers": workers,
        "pdf_parser": parser.value,
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


def _ocr_rate(pdfs: Path | None) -> dict[str, Any]:
    """Pages a second read by OCR: OCR_PAGES of a real manual rendered to an
    image-only PDF and parsed back (the PDF loader alone, no embedding), with
    the words recovered against the original text layer."""
    source = pdfs / OCR_SOURCE if pdfs is not None else None
    if source is None or not source.exists() or not ocr.available():
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        scan = Path(tmp) / "scan.pdf"
        originals = image_only_pdf(source, OCR_PAGES, scan)
        started, cpu = time.perf_counter(), _child_cpu()
        document = next(PdfLoader().load(scan, IngestSettings()))
        seconds, cpu_s = time.perf_counter() - started, _child_cpu() - cpu
    read = [document.text[p.start : p.end] for p in document.pages]
    recall = [word_recall(o, r) for o, r in zip(originals, read, strict=False)]
    return {
        "ocr_source": OCR_SOURCE,
        "pages": len(OCR_PAGES),
        "pages_read": len(document.pages),
        "ocr_pages_per_s": round(len(OCR_PAGES) / seconds, 2),
        "tesseract_cpu_s_per_page": round(cpu_s / len(OCR_PAGES), 2),
        "word_recall_mean": round(sum(recall) / max(1, len(recall)), 3),
        "word_recall_min": round(min(recall, default=0.0), 3),
    }


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def word_recall(reference: str, read: str) -> float:
    """Share of the reference's words (with repeats) found in `read`."""
    words = Counter(re.findall(r"[a-z0-9]+", reference.lower()))
    found = Counter(re.findall(r"[a-z0-9]+", read.lower()))
    return sum(min(n, found[w]) for w, n in words.items()) / max(1, sum(words.values()))


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
    _add_peak_shares(rows, next(iter(embedders.values())), texts)
    return rows


def _add_peak_shares(rows: list[dict[str, Any]], embedder: Embedder, texts: list[str]) -> None:
    """Each backend's operations per second against the machine's matmul peak of
    its number type (int8 for onnx-int8, float32 for the others), measured now."""
    from bench.matmul_peak import graph_ops, machine_peaks, share
    from rag.embedding.onnx_export import FP32, exported_model

    ops = graph_ops(exported_model(EmbeddingSettings()) / FP32)
    tokens = [min(len(embedder.token_offsets(t)), embedder.max_tokens) + 2 for t in texts]
    peaks = machine_peaks(round(sum(tokens) / len(tokens)), ops.widest)
    for row in rows:
        kind = "int8" if row["backend"] == EmbeddingBackend.ONNX_INT8 else "fp32"
        row.update(
            peak_kind=kind,
            peak_gops=peaks[kind],
            fp32_peak_gops=peaks["fp32"],
            **share(ops, tokens, row["passages_per_s"], peaks[kind]),
        )


def _add_parser_ratios(rows: list[dict[str, Any]]) -> None:
    """`vs_pypdf` and `parse_vs_pypdf`: a row's chunks per second over, and its
    parse time under, the pypdf row of the same corpus, backend and workers."""
    same = ("corpus", "backend", "parse_workers")
    for row in rows:
        if row["pdf_parser"] == PdfParser.PYPDF.value:
            continue
        base = [
            r
            for r in rows
            if r["pdf_parser"] == PdfParser.PYPDF.value and all(r[k] == row[k] for k in same)
        ]
        if base:
            row["vs_pypdf"] = ratio(row["chunks_per_s"], base[0]["chunks_per_s"])
            row["parse_vs_pypdf"] = ratio(base[0]["parse_s"], row["parse_s"])


def _add_ratios(rows: list[dict[str, Any]], figure: str, group: tuple[str, ...]) -> None:
    """`speedup`: each row's figure over the torch row's in the same group."""
    for row in rows:
        base = [r for r in rows if r["backend"] == "torch" and all(r[g] == row[g] for g in group)]
        if base:
            row["speedup"] = ratio(row[figure], base[0][figure])
