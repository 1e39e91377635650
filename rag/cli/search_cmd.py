"""`rag search "question" --index DIR`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rag.cli import exit_codes
from rag.cli.options import add_collection, add_common, in_collection
from rag.errors import ConfigError
from rag.modes import FusionMode
from rag.retrieval.filters import Filters
from rag.retrieval.open import open_retriever
from rag.settings import load_settings

HELP = """Search the index from the command line, as POST /v1/search does.

examples:
  rag search "how are encrypted PDFs handled" --index .rag/index
  rag search "RRF constant" --mode sparse --top-k 3 --json
  rag search "page numbers" --meta format=pdf --source-prefix /data/manuals
"""


def add_search_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "search",
        help="search the index",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("question")
    add_common(parser)
    add_collection(parser)
    parser.add_argument("--mode", help="minmax (default: retrieval.mode), rrf, dense or sparse")
    parser.add_argument("--top-k", type=int, help="results (default: retrieval.top_k, 10)")
    parser.add_argument(
        "--doc", action="append", default=[], metavar="ID", help="only this document (repeatable)"
    )
    parser.add_argument(
        "--exclude-doc", action="append", default=[], metavar="ID", help="leave out this document"
    )
    parser.add_argument("--source-prefix", help="only sources under this path")
    parser.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only documents with this metadata (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = in_collection(load_settings(args.config, index_dir=args.index), args)
    mode = FusionMode.parse(args.mode or settings.retrieval.mode)
    top_k = settings.retrieval.top_k if args.top_k is None else args.top_k
    if not 1 <= top_k <= settings.retrieval.max_top_k:
        raise ConfigError(f"--top-k must be 1..{settings.retrieval.max_top_k}")
    filters = Filters(
        tuple(args.doc), args.source_prefix, _pairs(args.meta), tuple(args.exclude_doc)
    )
    with open_retriever(settings) as retriever:
        outcome = retriever.search(args.question, top_k, mode, filters)
        passages = retriever.passages([h.position for h in outcome.hits])
        vias = sorted({h.via for h in outcome.hits if h.via is not None})
        summary_ids = {p.position: p.chunk_id for p in retriever.passages(vias)}
    rows = [
        {
            "rank": rank,
            "score": round(hit.score, 6),
            "title": p.title,
            "source": p.source_path,
            "pages": [p.page_start, p.page_end],
            "span": [p.char_start, p.char_end],
            "chunk_id": p.chunk_id,
            "text": p.text,
            "via_summary": summary_ids.get(hit.via) if hit.via is not None else None,
        }
        for rank, (hit, p) in enumerate(zip(outcome.hits, passages, strict=True), start=1)
    ]
    if args.json:
        print(json.dumps({"mode": mode.value, "results": rows}, indent=2))
        return exit_codes.OK
    for rank, (hit, p) in enumerate(zip(outcome.hits, passages, strict=True), start=1):
        pages = "" if p.page_start is None else f" p.{p.page_start}"
        via = "  [found through a RAPTOR summary]" if hit.via is not None else ""
        print(f"{rank:>2}. {hit.score:.4f}  {p.title}{pages}  ({p.source_path}){via}")
        print(f"    {p.text[:200].replace(chr(10), ' ')}")
    return exit_codes.OK


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--meta {item!r} is not KEY=VALUE")
        pairs[key] = value
    return pairs
