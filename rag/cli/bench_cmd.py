"""`rag bench bm25|dense|http|ingest|memory|answer|scaling|load|soak`: the performance suite.

Each prints its figures beside the baseline timed in the same run, and
writes JSON (--out) with the machine it ran on. Benchmarks are not tests:
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rag.cli import exit_codes
from rag.errors import ConfigError

HELP = """Measure speed and memory; each figure beside its baseline, as JSON.

examples:
  rag bench bm25 --sizes 10000,100000,1000000
  rag bench dense --sizes 100000,1000000
  rag bench http --sizes 100000,1000000 --clients 1,8
  rag bench ingest --dataset ../shared/datasets/beir-scifact --pdfs ../shared/pdfs
  rag bench memory --sizes 1000000
  rag bench answer --dataset ../shared/datasets/squad-v1.1-dev --questions 20
  rag bench scaling --results bench-results
  rag bench load --clients 32 --query-clients 4 --seconds 60 --ingests 2
  rag bench load --sweep 8,16,32,64 --query-clients 4 --seconds 30
  rag bench soak --minutes 10
"""
SHARED = Path("../shared")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: sizes are integers joined by commas") from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("every size must be at least 100")
    return sizes


def add_bench_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "bench",
        help="performance benchmarks",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    specs = {
        "bm25": "BM25 top-100 latency against rank-bm25",
        "dense": "FAISS index types: latency and recall@10 against exact search",
        "http": "POST /v1/search end to end, 1 and 8 clients",
        "ingest": "ingest and embedding throughput per embedding backend",
        "memory": "peak memory of an index build and of the service",
        "answer": "answer latency with the local LLM beside its raw speed: evidence, passages",
        "scaling": "ingest time and query latency against corpus size, as a PNG",
        "load": "search and query clients while ingests swap generations: failures, latency",
        "soak": "the load run for minutes at a lower rate: the service's memory over time",
    }
    for name, text in specs.items():
        sub = kinds.add_parser(name, help=text, description=text)
        sub.add_argument("--out", type=Path, metavar="FILE", help="write the figures as JSON")
        sub.set_defaults(run=run)
    for name in ("bm25", "dense", "http", "memory"):
        kinds.choices[name].add_argument("--sizes", type=_sizes, default=[10_000, 100_000])
        kinds.choices[name].add_argument("--queries", type=int, default=200, metavar="N")
    kinds.choices["bm25"].add_argument("--baseline-max", type=int, default=100_000, metavar="N")
    kinds.choices["bm25"].add_argument(
        "--dataset", type=Path, default=SHARED / "datasets/beir-scifact"
    )
    kinds.choices["dense"].add_argument("--hnsw-max", type=int, default=200_000, metavar="N")
    kinds.choices["dense"].add_argument(
        "--types", type=_dense_types, default=list(DENSE_TYPES), help="flat,hnsw,ivf-sq8"
    )
    kinds.choices["dense"].add_argument(
        "--index", type=Path, help="take cluster centres from this index"
    )
    kinds.choices["dense"].add_argument(
        "--real",
        action="store_true",
        help="measure on the --index's own vectors, some held out as queries, and on "
        "synthetic ones of the same count (instead of --sizes)",
    )
    for name in ("http", "memory", "scaling"):
        kinds.choices[name].add_argument(
            "--work", type=Path, default=Path("bench-work"), help="synthetic indices, reused"
        )
    kinds.choices["http"].add_argument("--clients", type=_sizes_small, default=[1, 8])
    ingest = kinds.choices["ingest"]
    ingest.add_argument("--dataset", type=Path, default=SHARED / "datasets/beir-scifact")
    ingest.add_argument("--limit", type=int, default=1000, help="SciFact documents to ingest")
    ingest.add_argument("--pdfs", type=Path, default=SHARED / "pdfs")
    ingest.add_argument("--backends", default="torch,onnx,onnx-int8")
    ingest.add_argument(
        "--pdf-parsers",
        default="pdfium,pypdf",
        help="PDF parsers the default backend ingests the PDFs with; ratios are over pypdf",
    )
    answer = kinds.choices["answer"]
    answer.add_argument("--dataset", type=Path, default=SHARED / "datasets/squad-v1.1-dev")
    answer.add_argument("--questions", type=int, default=20)
    answer.add_argument("--docs", type=int, default=500, help="paragraphs indexed")
    answer.add_argument("--passages", default="2,4", help="passage counts to compare")
    kinds.choices["scaling"].add_argument("--results", type=Path, default=Path("bench-results"))
    _add_load_options(kinds.choices["load"], "load", clients=32, query_clients=4, ingests=2)
    kinds.choices["load"].add_argument("--seconds", type=_positive, default=60.0)
    kinds.choices["load"].add_argument(
        "--sweep",
        type=_sizes_small,
        metavar="N,N,...",
        help="run --seconds at each of these search-client counts in turn, no ingests "
        "(admitted latency and shed requests as load grows)",
    )
    _add_load_options(kinds.choices["soak"], "soak", clients=4, query_clients=1, ingests=4)
    kinds.choices["soak"].add_argument("--minutes", type=_positive, default=10.0)


def _add_load_options(
    sub: argparse.ArgumentParser, name: str, clients: int, query_clients: int, ingests: int
) -> None:
    sub.add_argument("--clients", type=_count, default=clients, help="POST /v1/search clients")
    sub.add_argument(
        "--query-clients", type=_count, default=query_clients, help="POST /v1/query clients"
    )
    sub.add_argument("--ingests", type=_count, default=ingests, help="ingest rounds during load")
    sub.add_argument("--max-requests", type=_count, default=1_000_000, metavar="N")
    sub.add_argument("--corpus", type=Path, default=Path("corpora/guide"), help="copied, indexed")
    sub.add_argument("--work", type=Path, default=Path("bench-work") / name, help="scratch")
    sub.add_argument(
        "--via",
        choices=["cli", "api"],
        default="cli",
        help="ingest rounds by `rag ingest`, or uploaded to the service's ingest route",
    )


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number, 0 or more")
    return int(text)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a number above 0")
    return value


DENSE_TYPES = ("flat", "hnsw", "ivf-sq8")


def _dense_types(text: str) -> list[str]:
    types = [part for part in text.split(",") if part]
    unknown = sorted(set(types) - set(DENSE_TYPES))
    if unknown or not types:
        raise argparse.ArgumentTypeError(
            f"{text!r}: index types joined by commas, from {', '.join(DENSE_TYPES)}"
        )
    return types


def _sizes_small(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: integers joined by commas") from None


def run(args: argparse.Namespace) -> int:
    match args.bench:
        case "bm25":
            from bench import bm25

            bm25.run(args.sizes, args.queries, args.baseline_max, args.dataset, args.out)
        case "dense":
            from bench import dense

            dense.run(
                args.sizes,
                args.queries,
                args.hnsw_max,
                args.types,
                args.index,
                args.out,
                args.real,
            )
        case "http":
            from bench import http

            http.run(args.sizes, args.queries, args.clients, args.work, args.out)
        case "ingest":
            from bench import ingest

            parsers = _pdf_parsers(args.pdf_parsers)
            ingest.run(
                _backends(args.backends), args.dataset, args.limit, args.pdfs, args.out, parsers
            )
        case "memory":
            from bench import memory

            memory.run(args.sizes, args.queries, args.work, args.out)
        case "answer":
            from bench import answer

            answer.run(args)
        case "scaling":
            from bench import scaling

            scaling.run(args.results, args.out)
        case "load" | "soak":
            return _load(args)
    return exit_codes.OK


def _load(args: argparse.Namespace) -> int:
    """Exit 1 when the run saw a failed request, a mixed generation or a missed swap."""
    from bench import load

    if not args.corpus.exists():
        raise ConfigError(f"no corpus at {args.corpus}", "pass --corpus FOLDER or FILE")
    soak = args.bench == "soak"
    plan = load.LoadPlan(
        search_clients=args.clients,
        query_clients=args.query_clients,
        seconds=args.minutes * 60 if soak else args.seconds,
        ingests=args.ingests,
        max_requests=args.max_requests,
        corpus=args.corpus,
        work=args.work,
        sample_s=10.0 if soak else 2.0,
        via=args.via,
    )
    if getattr(args, "sweep", None):
        runs = load.sweep(plan, args.sweep, args.out)["runs"]
        failed = sum(r["failures"] for r in runs)
        return exit_codes.PARTIAL if failed else exit_codes.OK
    found = load.problems(load.run(plan, args.out, name=args.bench))
    for problem in found:
        print(f"problem: {problem}", file=sys.stderr)
    return exit_codes.PARTIAL if found else exit_codes.OK


def _pdf_parsers(text: str) -> list[Any]:
    from rag.modes import PdfParser

    return [PdfParser.parse(p.strip()) for p in text.split(",") if p.strip()]


def _backends(text: str) -> list[Any]:
    from rag.settings import EmbeddingBackend

    try:
        return [EmbeddingBackend(b.strip()) for b in text.split(",") if b.strip()]
    except ValueError:
        known = ", ".join(b.value for b in EmbeddingBackend)
        raise ConfigError(f"unknown backend in {text!r}", f"use {known}") from None
