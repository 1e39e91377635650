"""`rag ingest PATH... --index DIR`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ingest.run import Options, run_ingest
from rag.cli import exit_codes
from rag.cli.options import add_collection, add_common, in_collection
from rag.embedding import make_embedder
from rag.settings import load_settings

HELP = """Turn files and folders into a FAISS + BM25 index.

Reads PDF, text, Markdown, HTML and BEIR corpus.jsonl files. Re-running on the
same folder only processes what changed. A file that fails is reported by name
and the rest is still ingested (exit code 1).

examples:
  rag ingest corpora/guide --index .rag/index
  rag ingest ~/papers --index papers-index --password s3cret --prune
  rag ingest ~/policies --index .rag/index --collection hr
  rag ingest ../shared/datasets/beir-scifact/corpus.jsonl --index scifact-index
  rag ingest ~/reports --index reports-index --raptor
  rag ingest ~/papers --engine ray --address 10.0.0.5:6379 --shards 4
"""


def add_ingest_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "ingest",
        help="build or update an index from files",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add_common(parser)
    add_collection(parser)
    parser.add_argument("--password", help="password for encrypted PDFs")
    parser.add_argument(
        "--prune", action="store_true", help="remove documents whose files are gone"
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="re-chunk every document (after changing chunking settings)",
    )
    parser.add_argument(
        "--chunking",
        choices=["recursive", "fixed", "semantic"],
        help="chunking strategy (default: recursive)",
    )
    parser.add_argument("--chunk-size", type=int, help="tokens per chunk")
    parser.add_argument("--chunk-overlap", type=int, help="tokens shared by neighbours")
    parser.add_argument(
        "--dense-index",
        choices=["auto", "flat", "hnsw", "ivf-sq8"],
        help="FAISS index type (default: auto, by corpus size: flat, then hnsw, then ivf-sq8)",
    )
    parser.add_argument(
        "--follow-symlinks",
        action="store_true",
        default=None,
        help="follow symbolic links inside the given folders",
    )
    parser.add_argument(
        "--no-ocr",
        dest="ocr",
        action="store_false",
        default=None,
        help="leave PDF pages without a text layer unread (default: read them by OCR)",
    )
    parser.add_argument(
        "--raptor",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="build (or with --no-raptor drop) the RAPTOR tree of LLM summaries of clusters "
        "of chunks, indexed beside them; an index that has one keeps it up to date "
        "(default: raptor.enabled)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--shards", type=int, help="split the new generation into N shards (default 1)"
    )
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="where to parse, chunk and embed: here, or on a Ray cluster (the ray extra)",
    )
    parser.add_argument(
        "--address", help="the Ray cluster's head, host:port (default: ray.address, auto)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(
        args.config,
        index_dir=args.index,
        ingest__password=args.password,
        ingest__follow_symlinks=args.follow_symlinks,
        ingest__ocr=args.ocr,
        chunking__strategy=args.chunking,
        chunking__size=args.chunk_size,
        chunking__overlap=args.chunk_overlap,
        dense__index_type=args.dense_index,
        ingest__shards=args.shards,
        ray__address=args.address,
    )
    settings = in_collection(settings, args, create=True)
    options = Options(
        args.paths,
        prune=args.prune,
        rebuild=args.rebuild,
        progress=not args.no_progress and sys.stderr.isatty(),
        raptor=args.raptor,
    )
    if args.engine == "ray":
        from rag.distributed.ingest import run_ray_ingest

        report = run_ray_ingest(settings, options)
    else:
        report = run_ingest(settings, options, lambda: make_embedder(settings.embedding))
    print(json.dumps(report.record()) if args.json else report.table())
    return exit_codes.PARTIAL if report.failed else exit_codes.OK
