"""Which files an ingest reads: folders walked, supported types only.

Inside folders, hidden entries are skipped, as are the `~$report.docx` lock
files Word and PowerPoint leave beside an open file, and `.jsonl` files are
read only when named `corpus.jsonl` (a BEIR folder also holds `queries.jsonl`); a file
named on the command line is always read. Symbolic links are not followed
unless asked, and never out of the folder being walked nor round a loop: each
link not followed is reported by name with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders import SUFFIXES
from rag.errors import CorruptFileError, LoadError, SymlinkError, UnsupportedFileError


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
            result.failures.append(SymlinkError(path, "pass --follow-symlinks to follow it"))
        elif path.is_file():
            _take(path, result, explicit=True)
        else:
            result.failures.append(CorruptFileError(path, "no such file or folder"))
    result.files = sorted(set(result.files))
    return result


def _walk(
    root: Path, folder: Path, follow: bool, result: Scan, seen: set[Path] | None = None
) -> None:
    seen = seen if seen is not None else {folder.resolve()}
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        result.failures.append(CorruptFileError(folder, exc.strerror or str(exc)))
        return
    for entry in entries:
        if entry.name.startswith((".", "~$")):
            continue
        if entry.is_symlink():
            problem = _link_problem(entry, root, follow, seen)
            if problem:
                result.failures.append(SymlinkError(entry, problem))
                continue
        if entry.is_dir():
            seen.add(entry.resolve())
            _walk(root, entry, follow, result, seen)
        elif entry.is_file():
            _take(entry, result, explicit=False)


def _link_problem(link: Path, root: Path, follow: bool, seen: set[Path]) -> str | None:
    """Why the link is not followed, or None to follow it."""
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return "its target does not exist"
    except (OSError, RuntimeError):  # ELOOP; Python 3.11 raises RuntimeError
        return "it loops back on itself"
    if not target.is_relative_to(root.resolve()):
        return f"it points outside {root}"
    if not follow:
        return "pass --follow-symlinks to follow links inside the folder"
    if target in seen:  # every folder walked so far, each of the link's parents too
        return "it leads back to a folder already walked (a loop)"
    return None


def _take(path: Path, result: Scan, explicit: bool) -> None:
    suffix = path.suffix.lower()
    wanted = suffix in SUFFIXES and (suffix != ".jsonl" or path.name == "corpus.jsonl")
    if wanted or (explicit and suffix == ".jsonl"):
        result.files.append(path)
    elif explicit:
        result.failures.append(UnsupportedFileError(path, f"'{suffix or path.name}'"))
    else:
        result.skipped += 1
