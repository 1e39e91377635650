"""Plain-text loader: encoding detected, non-UTF-8 handled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.cleaning import count_word_chars, normalize_text
from ingest.loaders.base import read_decoded
from rag.documents import Document
from rag.errors import EmptyFileError
from rag.settings import IngestSettings


def read_text(path: Path, settings: IngestSettings) -> str:
    """Decoded, normalised text; an error if nothing readable is left."""
    text = normalize_text(read_decoded(path, settings))
    if count_word_chars(text) == 0:
        raise EmptyFileError(path, "no letters or digits")
    return text


class TextLoader:
    suffixes = (".txt", ".text", ".rst", ".log")

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        text = read_text(path, settings)
        yield Document(
            source_path=str(path),
            source_key=str(path),
            title=path.stem,
            text=text,
            metadata={"format": "text"},
        )
