"""SHA-256 of a file, read in blocks: ingest's change detection, the model
file check, the ONNX export cache key and the eval reports' dataset hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 22


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()
