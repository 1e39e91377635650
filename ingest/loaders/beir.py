"""BEIR `corpus.jsonl` loader: one document per line, so benchmark corpora
ingest like any other folder. The BEIR `_id` is kept as metadata `beir_id`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ingest.cleaning import normalize_text
from ingest.loaders.base import read_bytes
from ingest.loaders.limits import check_text_chars
from rag.documents import Document
from rag.errors import CorruptFileError
from rag.settings import IngestSettings


class BeirLoader:
    suffixes = (".jsonl",)

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        lines = read_bytes(path, settings).decode("utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield _document(path, number, line, settings)


def _document(path: Path, number: int, line: str, settings: IngestSettings) -> Document:
    try:
        record = json.loads(line)
        beir_id = str(record["_id"])
        title = normalize_text(str(record.get("title") or ""))
        body = normalize_text(str(record.get("text") or ""))
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptFileError(path, f"line {number} is not a BEIR record: {exc}") from None
    text = f"{title}\n\n{body}" if title and body else title or body
    check_text_chars(path, len(text), settings, where=f"line {number}: ")
    return Document(
        source_path=str(path),
        source_key=f"{path}#{beir_id}",
        title=title or beir_id,
        text=text,
        metadata={"format": "beir", "beir_id": beir_id},
    )
