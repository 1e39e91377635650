"""pypdf: the PDF's structure for both parsers, and the reference text layer.

Both parsers open the file with pypdf first: it decrypts, walks the page tree
(a loop in it is an error here) and inflates streams under
`ingest.max_pdf_stream_mb`, all within one `stream_limits` context. pypdf's
`extract_text` is then the reference text layer (`ingest.pdf_parser = "pypdf"`):
pure Python, so `PageWatch` stops a page at `ingest.max_page_chars` or the
`ingest.parse_timeout_s` deadline between content operators.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PageObject, PdfReader, apply_configuration
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

from ingest.cleaning import normalize_text
from ingest.loaders.limits import MB, TextBudget
from rag.errors import CorruptFileError, EncryptedFileError, LimitExceededError
from rag.settings import IngestSettings

# What pypdf raises, besides its own errors, on a damaged file.
BROKEN = (ValueError, KeyError, TypeError, AttributeError, RecursionError, ZeroDivisionError)


@dataclass(frozen=True)
class OpenedPdf:
    reader: PdfReader
    password: str | None  # the one that opened it: None when not encrypted


@contextmanager
def stream_limits(settings: IngestSettings) -> Iterator[None]:
    """pypdf reads its limits from a context variable: set for one file only."""
    limit = int(settings.max_pdf_stream_mb * MB)
    names = ("zlib", "lzw", "run_length", "brotli", "jbig2")
    limits = {f"{name}_maximum_output_length": limit for name in names}
    with apply_configuration(None, **limits, array_based_stream_maximum_output_length=limit):
        yield


def bomb(path: Path, exc: LimitReachedError, settings: IngestSettings) -> LimitExceededError:
    return LimitExceededError(
        path,
        f"pypdf stopped at a safety limit: {exc} (a decompression bomb? streams are "
        f"capped at ingest.max_pdf_stream_mb = {settings.max_pdf_stream_mb:g})",
    )


def open_pdf(path: Path, data: bytes, settings: IngestSettings) -> OpenedPdf:
    """The reader, decrypted, its page tree walked; call within `stream_limits`."""
    # pypdf logs every recoverable oddity of real-world files as a warning.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        password = None
        if reader.is_encrypted:
            password = _decrypt(reader, settings.password)
            if password is None:
                detail = "wrong password" if settings.password else "needs a password"
                raise EncryptedFileError(path, detail)
        _ = len(reader.pages)
    except EncryptedFileError:
        raise
    except LimitReachedError as exc:
        raise bomb(path, exc, settings) from None
    except (PyPdfError, *BROKEN) as exc:
        raise CorruptFileError(path, f"{type(exc).__name__}: {exc}") from None
    return OpenedPdf(reader, password)


def _decrypt(reader: PdfReader, password: str | None) -> str | None:
    """The password that decrypts the reader (the empty one first), or None."""
    for candidate in ("", password):
        if candidate is None:
            continue
        try:
            if reader.decrypt(candidate):
                return candidate
        except (PyPdfError, NotImplementedError):
            return None
    return None


def title(reader: PdfReader) -> str:
    try:
        meta = reader.metadata
        value = meta.title if meta else None
    except (PyPdfError, ValueError, KeyError, TypeError):
        return ""
    return normalize_text(str(value)) if value else ""


class PypdfPages:
    """Page texts by pypdf's `extract_text`, each page stopped at its bounds."""

    def __init__(self, reader: PdfReader, budget: TextBudget, settings: IngestSettings) -> None:
        self._reader = reader
        self._budget = budget
        self._settings = settings

    def text(self, number: int) -> str:
        page = self._reader.pages[number - 1]
        watch = PageWatch(self._budget, number, self._settings)
        return _page_text(self._budget.path, number, page, watch)


def _page_text(path: Path, number: int, page: PageObject, watch: PageWatch) -> str:
    try:
        raw = page.extract_text(visitor_operand_before=watch.operator, visitor_text=watch.text)
    except LimitExceededError:
        raise
    except FileNotDecryptedError:
        raise EncryptedFileError(path, "needs a password") from None
    except LimitReachedError as exc:
        watch.raise_if_stopped()
        raise bomb(path, exc, watch.settings) from None
    except (PyPdfError, *BROKEN) as exc:
        watch.raise_if_stopped()
        raise CorruptFileError(path, f"page {number}: {type(exc).__name__}: {exc}") from None
    watch.raise_if_stopped()
    return raw or ""


def too_many_chars(path: Path, number: int, settings: IngestSettings) -> LimitExceededError:
    return LimitExceededError(
        path,
        f"page {number} yields more than {settings.max_page_chars:,} "
        "characters (ingest.max_page_chars): a text bomb?",
    )


class PageWatch:
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
            self._stopped = too_many_chars(self._budget.path, self._number, self.settings)
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
