"""Collections: named corpora under one index root, each with its own
generations, manifest and settings fingerprint.

    ROOT/CURRENT, ROOT/generations/...          the `default` collection
    ROOT/collections/hr/CURRENT, .../generations/...   the collection `hr`
    ROOT/uploads/, ROOT/collections/hr/uploads/        files sent through the API

The `default` collection is the root itself, so an index built before
collections existed opens as `default` without re-ingesting.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from rag.errors import CollectionNotFoundError, ConfigError
from rag.index.generations import CURRENT, GENERATIONS, LOCK, has_index, ingest_lock

DEFAULT = "default"
FOLDER = "collections"
UPLOADS = "uploads"  # files sent through the API, where its ingest jobs read them
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_name(name: str) -> str:
    """`name` if it can name a collection; otherwise `ConfigError` saying what can."""
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"collection name {name!r} is not allowed",
            "use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
        )
    return name


def collection_dir(root: Path, name: str) -> Path:
    """Where the collection `name` lives under the index root (it may not exist yet)."""
    check_name(name)
    return root if name == DEFAULT else root / FOLDER / name


def collection_names(root: Path) -> list[str]:
    """The collections under `root` that have a live generation, `default` first."""
    names = [DEFAULT] if has_index(root) else []
    folder = root / FOLDER
    if folder.is_dir():
        names += sorted(
            p.name for p in folder.iterdir() if _NAME.fullmatch(p.name) and has_index(p)
        )
    return names


def existing_dir(root: Path, name: str) -> Path:
    """The folder of a collection that has a live generation."""
    folder = collection_dir(root, name)
    if not has_index(folder):
        raise CollectionNotFoundError(f"no collection {name!r}")
    return folder


def remove_collection(root: Path, name: str) -> None:
    """Delete a whole collection: its generations, or for `default` the root's own
    index files (the other collections stay)."""
    folder = existing_dir(root, name)
    if name != DEFAULT:
        with ingest_lock(folder):
            shutil.rmtree(folder)
        return
    with ingest_lock(folder):
        (folder / CURRENT).unlink()
    for leftover in (GENERATIONS, UPLOADS, LOCK):
        path = folder / leftover
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
