"""`rag tune --index DIR`: adapt the index's fusion weights to its corpus."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rag.cli.options import add_collection, add_common, in_collection
from rag.embedding import make_embedder
from rag.index.tuning import undo
from rag.llm.lazy import LazyLLM
from rag.settings import load_settings
from rag.tune.run import TuneRequest, tune_index

HELP = """Adapt retrieval to this corpus, offline, from its own chunks.

The local LLM writes one question for each of a sample of chunks (resumable:
the questions are kept in INDEX/tune/questions.jsonl); questions whose chunk
neither retriever brings back in its first 20 are dropped; the rest choose the
dense-to-BM25 weight of each fusion mode. Weights that beat the configured
ones are recorded in INDEX/tune/tuned.json and used by search, serve and eval
(retrieval.use_tuning = false ignores them). No queries or judgments are used.

examples:
  rag tune --index .rag/index --estimate      # what it would cost, nothing written
  rag tune --index .rag/index --sample 300
  rag tune --index .rag/index --undo          # back to the configured weights
"""


def add_tune_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "tune",
        help="adapt fusion weights to the corpus (LLM-written questions)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(parser)
    add_collection(parser)
    parser.add_argument("--sample", type=int, default=200, help="chunks to question (200)")
    parser.add_argument("--seed", type=int, default=0, help="which chunks are sampled (0)")
    parser.add_argument("--estimate", action="store_true", help="print the cost and stop")
    parser.add_argument("--undo", action="store_true", help="remove the tuning in force")
    parser.add_argument("--json", action="store_true", help="print the record as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = in_collection(load_settings(args.config, index_dir=args.index), args)
    if args.undo:
        removed = undo(settings.index_dir)
        print("tuning removed" if removed else f"{settings.index_dir} has no tuning")
        return 0
    if args.sample < 1:
        print("error: --sample must be at least 1")
        return 2
    request = TuneRequest(args.sample, args.seed, args.estimate, not args.no_progress)
    llm = LazyLLM(settings)
    try:
        record = tune_index(settings, request, make_embedder(settings.embedding), llm, print)
    finally:
        llm.close()
    if record is not None and args.json:
        print(json.dumps(record, indent=2))
    return 0
