"""The options every `rag` subcommand takes."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index",
        type=Path,
        default=None,
        metavar="DIR",
        help="index folder (default: .rag/index, or RAG_INDEX_DIR)",
    )
    parser.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="TOML settings file"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each phase to stderr")
