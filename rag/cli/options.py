"""The options every `rag` subcommand takes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rag.index.collections import DEFAULT, collection_dir, existing_dir

if TYPE_CHECKING:
    from rag.settings import Settings


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


def add_collection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--collection",
        default=None,
        metavar="NAME",
        help=f"collection under the index root (default: {DEFAULT})",
    )


def in_collection(
    settings: Settings, args: argparse.Namespace, *, create: bool = False
) -> Settings:
    """`settings` with `index_dir` moved from the index root to the folder of
    `--collection`; unless `create`, a named collection must already exist."""
    name = args.collection or DEFAULT
    root = settings.index_dir
    folder = collection_dir(root, name) if create or name == DEFAULT else existing_dir(root, name)
    return settings.model_copy(update={"index_dir": folder})
