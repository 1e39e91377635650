"""`rag`: ingest documents, inspect the index, search it, serve it.

Every subcommand takes `--index DIR` (default `.rag/index`, or `RAG_INDEX_DIR`)
and `--config FILE` (TOML with the groups of `rag.settings.Settings`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from rag import __version__
from rag.cli import exit_codes
from rag.cli.ask_cmd import add_ask_parser
from rag.cli.bench_cmd import add_bench_parser
from rag.cli.eval_cmd import add_eval_parser
from rag.cli.index_cmd import add_index_parser
from rag.cli.ingest_cmd import add_ingest_parser
from rag.cli.mcp_cmd import add_mcp_parser
from rag.cli.search_cmd import add_search_parser
from rag.cli.serve_cmd import add_serve_parser
from rag.cli.tune_cmd import add_tune_parser
from rag.errors import RagError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Grounded question answering over your own documents.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  rag ingest corpora/guide --index .rag/index\n"
        "  rag index stats --index .rag/index\n"
        '  rag search "how are PDFs read" --index .rag/index\n'
        "  rag serve --index .rag/index --port 8000\n"
        "  rag mcp --index .rag/index\n"
        "  rag tune --index .rag/index --sample 200\n"
        "  rag eval retrieval --dataset ../shared/datasets/beir-scifact\n"
        "  rag bench bm25 --sizes 10000,100000",
    )
    parser.add_argument("--version", action="version", version=f"rag {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_ingest_parser(commands)
    add_index_parser(commands)
    add_search_parser(commands)
    add_ask_parser(commands)
    add_serve_parser(commands)
    add_mcp_parser(commands)
    add_tune_parser(commands)
    add_eval_parser(commands)
    add_bench_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.run(args)
    except RagError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.exit_code(error)
    except KeyboardInterrupt:
        print("interrupted; the previous index generation is intact", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
