"""Which files an ingest reads: folders walked, supported types only.

Inside folders, hidden entries are skipped, and `.jsonl` files are read only
when named `corpus.jsonl` (a BEIR folder also holds `queries.jsonl`); a file
named on the command line is always read. Symbolic links are not followed
unless asked, and never out of the folder being walked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders import SUFFIXES
from rag.errors import CorruptFileError, LoadError, UnsupportedFileError


@dataclass
class Scan:
    files: list[Path] = field(default_factory=list)
    failures: list[LoadError] = field(default_factory=list)
    skipped: int = 0


def scan(paths: list[Path], follow_symlinks: bool = False) -> Scan:
    result = Scan()
    for given in paths:
        path = Path(os.path.abspath(given))  # noqa: PTH100 - keep symlinks as given
        if path.is_dir():
            _walk(path, path, follow_symlinks, result)
        elif path.is_symlink() and not follow_symlinks:
            result.failures.append(CorruptFileError(path, "symbolic link not followed"))
        elif path.is_file():
            _take(path, result, explicit=True)
        else:
            result.failures.append(CorruptFileError(path, "no such file or folder"))
    result.files = sorted(set(result.files))
    return result


def _walk(root: Path, folder: Path, follow: bool, result: Scan) -> None:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        result.failures.append(CorruptFileError(folder, exc.strerror or str(exc)))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() and (not follow or not _inside(entry, root)):
            result.skipped += 1
            continue
        if entry.is_dir():
            if not (entry.is_symlink() and _inside(root, entry)):  # a loop back up
                _walk(root, entry, follow, result)
        elif entry.is_file():
            _take(entry, result, explicit=False)


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def _take(path: Path, result: Scan, explicit: bool) -> None:
    suffix = path.suffix.lower()
    wanted = suffix in SUFFIXES and (suffix != ".jsonl" or path.name == "corpus.jsonl")
    if wanted or (explicit and suffix == ".jsonl"):
        result.files.append(path)
    elif explicit:
        result.failures.append(UnsupportedFileError(path, f"'{suffix or path.name}'"))
    else:
        result.skipped += 1
