"""The index's identity card: what built it, with which settings, how big.

A reader compares the fields that change results with its own settings and
refuses a mismatch, naming the field.
"""

from __future__ import annotations

import itertools
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rag.errors import IndexCorruptError, IndexMismatchError
from rag.index.dense import resolve_type
from rag.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
# Fields whose change makes stored chunks or vectors wrong: ingest must rebuild.
INGEST_FIELDS = (
    "embedding.model",
    "embedding.backend",
    "chunking.strategy",
    "chunking.size",
    "chunking.overlap",
    "chunking.semantic_percentile",
)
# Fields a query must share with the index to embed and analyse text the same way.
QUERY_FIELDS = (
    "embedding.model",
    "embedding.backend",
    "tokenizer.lowercase",
    "tokenizer.stopwords",
    "tokenizer.stemmer",
)
# Values of fields that indexes of an earlier format version did not record.
_IMPLIED = {"embedding.backend": "torch"}
_PACKAGES = (
    "rag",
    "sentence-transformers",
    "torch",
    "onnxruntime",
    "faiss-cpu",
    "pypdf",
    "pypdfium2",
    "pdfplumber",
    "PyStemmer",
    "numpy",
)


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]
    path: Path | None = None  # the file it was read from, named in its errors

    @property
    def generation(self) -> int:
        return int(self.data["generation"])

    @property
    def dimension(self) -> int:
        return int(self.data["embedding"]["dimension"])

    @property
    def shard_bounds(self) -> list[int]:
        """Where each shard's positions start, then the chunk count; one shard
        when the manifest records none (`rag.index.shards`)."""
        shards = self.data.get("shards")
        if shards is None:
            return [0, int(self.data["counts"]["chunks"])]
        return [int(b) for b in shards["bounds"]]

    def value(self, dotted: str) -> Any:
        group, _, field = dotted.partition(".")
        return self.data.get(group, {}).get(field, _IMPLIED.get(dotted))

    def check(self, settings: Settings, fields: tuple[str, ...]) -> None:
        """Raise `IndexMismatchError` on the first field that differs."""
        where = f"{self.path}: " if self.path else ""
        if self.data.get("format") != FORMAT:
            raise IndexMismatchError(
                f"{where}index format {self.data.get('format')}, expected {FORMAT}"
            )
        current = settings_fields(settings)
        for dotted in fields:
            built, wanted = self.value(dotted), current[dotted]
            if built != wanted:
                raise IndexMismatchError(
                    f"{where}{dotted}: the index was built with {built!r}, "
                    f"the settings say {wanted!r}"
                )

    def write(self, folder: Path) -> None:
        text = json.dumps(self.data, indent=2, sort_keys=True)
        (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise IndexCorruptError(f"unreadable manifest {path}: {exc}") from None
        if not isinstance(data, dict) or "generation" not in data:
            raise IndexCorruptError(f"manifest {path} lacks its generation")
        return cls(data, path)


def settings_fields(settings: Settings) -> dict[str, Any]:
    dumped = settings.model_dump(mode="json")
    return {
        f"{group}.{field}": value
        for group in ("embedding", "chunking", "tokenizer", "bm25", "dense")
        for field, value in dumped[group].items()
    }


def new_manifest(
    settings: Settings,
    generation: int,
    dimension: int,
    max_tokens: int,
    counts: dict[str, int],
    shards: Sequence[int] | None = None,
) -> Manifest:
    """The manifest of a new generation; `shards`, the bounds of more than one
    shard, is recorded with each shard's FAISS index type."""
    dumped = settings.model_dump(mode="json")
    embedding = {
        "model": settings.embedding.model,
        "backend": settings.embedding.backend.value,
        "dimension": dimension,
        "max_tokens": max_tokens,
        "normalized": True,
    }
    data: dict[str, Any] = {
        "format": FORMAT,
        "generation": generation,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedding": embedding,
        "chunking": dumped["chunking"],
        "tokenizer": dumped["tokenizer"],
        "bm25": dumped["bm25"],
        "dense": dumped["dense"],
        # What `auto` settings resolved to for this corpus.
        "built": {"dense_index": resolve_type(counts.get("chunks", 0), settings.dense).value},
        "versions": _versions(),
        "counts": counts,
    }
    if shards is not None and len(shards) > 2:
        sizes = [b - a for a, b in itertools.pairwise(shards)]
        built = [resolve_type(size, settings.dense).value for size in sizes]
        data["shards"] = {"bounds": list(shards), "dense_index": built}
        data["built"] = {"dense_index": built[0]}  # shards differ in size by one at most
    return Manifest(data)


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
