"""PDF loader on pypdf: text per page, page numbers kept, ligatures folded.

Hostile files are bounded (`ingest.loaders.limits`): pypdf refuses to inflate a
stream past `ingest.max_pdf_stream_mb` and to follow a page tree that loops;
this loader refuses more than `ingest.max_pages` pages, stops a page at
`ingest.max_page_chars` characters and a file at `ingest.max_document_chars`,
and checks the `ingest.parse_timeout_s` deadline between content operators.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pypdf import PageObject, PdfReader, apply_configuration
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

from ingest.cleaning import count_word_chars, join_hyphenated, normalize_text
from ingest.loaders.base import read_bytes
from ingest.loaders.limits import MB, TextBudget
from rag.documents import Document, PageSpan
from rag.errors import CorruptFileError, EncryptedFileError, LimitExceededError, NoTextError
from rag.settings import IngestSettings

PAGE_SEPARATOR = "\n\n"


class PdfLoader:
    suffixes = (".pdf",)

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        yield _load(path, settings)


def _load(path: Path, settings: IngestSettings) -> Document:
    budget = TextBudget(path, settings)  # the deadline runs from here
    data = read_bytes(path, settings)
    # pypdf reads its limits from a context variable: set for this file only.
    with apply_configuration(None, **_stream_limits(settings)):
        reader = _open(path, data, settings)
        texts = _page_texts(reader, budget, settings)
        return _assemble(path, reader, texts, settings.min_page_chars)


def _stream_limits(settings: IngestSettings) -> dict[str, int]:
    limit = int(settings.max_pdf_stream_mb * MB)
    names = ("zlib", "lzw", "run_length", "brotli", "jbig2")
    limits = {f"{name}_maximum_output_length": limit for name in names}
    return {**limits, "array_based_stream_maximum_output_length": limit}


def _bomb(path: Path, exc: LimitReachedError, settings: IngestSettings) -> LimitExceededError:
    return LimitExceededError(
        path,
        f"pypdf stopped at a safety limit: {exc} (a decompression bomb? streams are "
        f"capped at ingest.max_pdf_stream_mb = {settings.max_pdf_stream_mb:g})",
    )


def _open(path: Path, data: bytes, settings: IngestSettings) -> PdfReader:
    """The reader, its page tree walked (a loop in it is an error here)."""
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise CorruptFileError(path, "no %PDF header")
    # pypdf logs every recoverable oddity of real-world files as a warning.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        password = settings.password
        if reader.is_encrypted and not _decrypt(reader, password):
            detail = "wrong password" if password else "needs a password"
            raise EncryptedFileError(path, detail)
        _ = len(reader.pages)
    except EncryptedFileError:
        raise
    except LimitReachedError as exc:
        raise _bomb(path, exc, settings) from None
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


def _page_texts(reader: PdfReader, budget: TextBudget, settings: IngestSettings) -> list[str]:
    count = len(reader.pages)
    if count > settings.max_pages:
        raise LimitExceededError(
            budget.path, f"{count:,} pages is over ingest.max_pages ({settings.max_pages:,})"
        )
    texts = []
    for number, page in enumerate(reader.pages, start=1):
        budget.check_time(f"page {number}")
        raw = _page_text(budget.path, number, page, _PageWatch(budget, number, settings))
        budget.take(len(raw))
        texts.append(join_hyphenated(normalize_text(raw)))
    return texts


def _page_text(path: Path, number: int, page: PageObject, watch: _PageWatch) -> str:
    try:
        raw = page.extract_text(visitor_operand_before=watch.operator, visitor_text=watch.text)
    except LimitExceededError:
        raise
    except FileNotDecryptedError:
        raise EncryptedFileError(path, "needs a password") from None
    except LimitReachedError as exc:
        watch.raise_if_stopped()
        raise _bomb(path, exc, watch.settings) from None
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,
        ZeroDivisionError,
    ) as exc:
        watch.raise_if_stopped()
        raise CorruptFileError(path, f"page {number}: {type(exc).__name__}: {exc}") from None
    watch.raise_if_stopped()
    return raw or ""


class _PageWatch:
    """pypdf visitor callbacks that stop one page's text extraction at the
    character limit or the deadline. pypdf swallows errors raised while it
    draws a form XObject, so the verdict is also kept and checked afterwards."""

    def __init__(self, budget: TextBudget, number: int, settings: IngestSettings) -> None:
        self._budget = budget
        self._number = number
        self.settings = settings
        self._chars = 0
        self._stopped: LimitExceededError | None = None

    def text(self, text: str, *_: Any) -> None:
        self._chars += len(text)
        if self._chars > self.settings.max_page_chars and self._stopped is None:
            self._stopped = LimitExceededError(
                self._budget.path,
                f"page {self._number} yields more than {self.settings.max_page_chars:,} "
                "characters (ingest.max_page_chars): a text bomb?",
            )
        self.raise_if_stopped()

    def operator(self, *_: Any) -> None:
        if self._stopped is None:
            try:
                self._budget.check_time(f"page {self._number}")
            except LimitExceededError as exc:
                self._stopped = exc
        self.raise_if_stopped()

    def raise_if_stopped(self) -> None:
        if self._stopped is not None:
            raise self._stopped


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
