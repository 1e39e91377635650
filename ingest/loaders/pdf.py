"""PDF loader on pypdf: text per page, page numbers kept, ligatures folded."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PyPdfError

from ingest.cleaning import count_word_chars, join_hyphenated, normalize_text
from ingest.loaders.base import read_bytes
from rag.documents import Document, PageSpan
from rag.errors import CorruptFileError, EncryptedFileError, NoTextError
from rag.settings import IngestSettings

PAGE_SEPARATOR = "\n\n"


class PdfLoader:
    suffixes = (".pdf",)

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        data = read_bytes(path, settings)
        reader = _open(path, data, settings.password)
        texts = _page_texts(path, reader)
        yield _assemble(path, reader, texts, settings.min_page_chars)


def _open(path: Path, data: bytes, password: str | None) -> PdfReader:
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise CorruptFileError(path, "no %PDF header")
    # pypdf logs every recoverable oddity of real-world files as a warning.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _decrypt(reader, password):
            detail = "wrong password" if password else "needs a password"
            raise EncryptedFileError(path, detail)
        _ = len(reader.pages)
    except EncryptedFileError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise CorruptFileError(path, f"{type(exc).__name__}: {exc}") from None
    return reader


def _decrypt(reader: PdfReader, password: str | None) -> bool:
    for candidate in ("", password):
        if candidate is None:
            continue
        try:
            if reader.decrypt(candidate):
                return True
        except (PyPdfError, NotImplementedError):
            return False
    return False


def _page_texts(path: Path, reader: PdfReader) -> list[str]:
    texts = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            raw = page.extract_text() or ""
        except FileNotDecryptedError:
            raise EncryptedFileError(path, "needs a password") from None
        except (
            PyPdfError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RecursionError,
            ZeroDivisionError,
        ) as exc:
            raise CorruptFileError(path, f"page {number}: {type(exc).__name__}: {exc}") from None
        texts.append(join_hyphenated(normalize_text(raw)))
    return texts


def _assemble(path: Path, reader: PdfReader, texts: list[str], min_chars: int) -> Document:
    parts: list[str] = []
    pages: list[PageSpan] = []
    empty: list[int] = []
    offset = 0
    for number, text in enumerate(texts, start=1):
        if count_word_chars(text) < max(min_chars, 1):
            empty.append(number)
            continue
        if parts:
            offset += len(PAGE_SEPARATOR)
        pages.append(PageSpan(number, offset, offset + len(text)))
        parts.append(text)
        offset += len(text)
    if not pages:
        raise NoTextError(path, f"none of its {len(texts)} pages has extractable text")
    warnings: tuple[str, ...] = ()
    if empty:
        listed = ", ".join(map(str, empty))
        warnings = (f"pages {listed} of {len(texts)}: no text layer: scanned or form-only?",)
    return Document(
        source_path=str(path),
        source_key=str(path),
        title=_title(reader) or path.stem,
        text=PAGE_SEPARATOR.join(parts),
        pages=tuple(pages),
        metadata={"format": "pdf", "page_count": str(len(texts))},
        warnings=warnings,
    )


def _title(reader: PdfReader) -> str:
    try:
        meta = reader.metadata
        title = meta.title if meta else None
    except (PyPdfError, ValueError, KeyError, TypeError):
        return ""
    return normalize_text(str(title)) if title else ""
