"""The loader contract: a file in, documents out (several for a corpus file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from ingest.loaders.limits import check_file_size, check_text_bytes, check_text_chars
from rag.documents import Document
from rag.errors import BinaryFileError, CorruptFileError, EmptyFileError
from rag.settings import IngestSettings


class Loader(Protocol):
    @property
    def suffixes(self) -> tuple[str, ...]:
        """Lowercase file suffixes this loader reads."""
        ...

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        """Documents in `path`; raises a `LoadError` naming the reason."""
        ...


def read_bytes(path: Path, settings: IngestSettings, text: bool = False) -> bytes:
    """The file's bytes, refusing empty and oversized files (for `text`, also
    files too large to decode within `ingest.max_document_chars`)."""
    try:
        size = path.stat().st_size
        check_file_size(path, size, settings)
        if text:
            check_text_bytes(path, size, settings)
        data = path.read_bytes()
    except OSError as exc:
        raise CorruptFileError(path, exc.strerror or str(exc)) from None
    if not data.strip():
        raise EmptyFileError(path, "no content" if data else "zero bytes")
    return data


def read_decoded(path: Path, settings: IngestSettings) -> str:
    """The file's text as decoded, within `ingest.max_document_chars`."""
    text = decode_text(path, read_bytes(path, settings, text=True))
    check_text_chars(path, len(text), settings)
    return text


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control bytes in the first 8 KiB mean binary data."""
    head = data[:8192]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    controls = sum(b < 9 or 13 < b < 32 for b in head)
    return controls > len(head) * 0.05


def decode_text(path: Path, data: bytes) -> str:
    """Decode text of unknown encoding: UTF-8 first, then detection, never a crash."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if looks_binary(data):
        raise BinaryFileError(path, "the file has NUL or control bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise BinaryFileError(path, "no text encoding fits its bytes")
    # Short texts often fit several 8-bit code pages equally well; among equals
    # prefer Windows-1252, the most common legacy encoding (a superset of Latin-1).
    for match in matches:
        if match.encoding == "cp1252" and (match.chaos, match.coherence) == (
            best.chaos,
            best.coherence,
        ):
            return data.decode("cp1252", errors="replace")
    return str(best)
