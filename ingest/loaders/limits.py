"""What parsing one file may cost, bounded by `IngestSettings`.

- bytes: a file over `max_file_mb` is refused unread;
- text: a document over `max_document_chars` characters is refused, counted as
  text is produced (page by page for PDFs), and one PDF page over
  `max_page_chars` stops its extraction;
- PDF streams: pypdf refuses to inflate one past `max_pdf_stream_mb`;
- time: `parse_timeout_s` is a deadline that the PDF loader checks between
  pages and, through pypdf's visitor callbacks, between the operators of each
  page's content. pypdf is pure Python, so a check there is all it takes: no
  thread or signal is involved. PDFium, in C, cannot be stopped part-way
  through a page: it is given only pages whose content is measured first to
  be small enough (`pdf_pdfium`), and pypdf reads the others.

Text, Markdown and HTML files are bounded by their size alone: decoding and
cleaning run at C speed over text already capped by `max_document_chars`.
"""

from __future__ import annotations

import time
from pathlib import Path

from rag.errors import LimitExceededError
from rag.settings import IngestSettings

MB = 1024 * 1024
# UTF-8, UTF-16 and UTF-32 spend at most 4 bytes on a character: a file of more
# than 4 bytes per allowed character is over the limit in any encoding.
MAX_BYTES_PER_CHAR = 4


class TextBudget:
    """Characters and seconds one file may spend while it is parsed."""

    def __init__(self, path: Path, settings: IngestSettings) -> None:
        self.path = path
        self._max_chars = settings.max_document_chars
        self._timeout = settings.parse_timeout_s
        self._deadline = time.monotonic() + settings.parse_timeout_s
        self.chars = 0

    def take(self, chars: int) -> None:
        """Count `chars` more characters of text; refuse the file past the limit."""
        self.chars += chars
        if self.chars > self._max_chars:
            raise LimitExceededError(
                self.path,
                f"more than {self._max_chars:,} characters of text (ingest.max_document_chars)",
            )

    def check_time(self, where: str) -> None:
        if time.monotonic() > self._deadline:
            raise LimitExceededError(
                self.path,
                f"parsing took over {self._timeout:g} s (ingest.parse_timeout_s), "
                f"stopped at {where}",
            )


def check_file_size(path: Path, size: int, settings: IngestSettings) -> None:
    if size > settings.max_file_mb * MB:
        raise LimitExceededError(
            path, f"{size / MB:,.0f} MB is over ingest.max_file_mb ({settings.max_file_mb:g})"
        )


def check_text_bytes(path: Path, size: int, settings: IngestSettings) -> None:
    """Refuse, before decoding, a text file too large to be under the character limit."""
    if size > settings.max_document_chars * MAX_BYTES_PER_CHAR:
        raise LimitExceededError(
            path,
            f"{size:,} bytes cannot decode to {settings.max_document_chars:,} characters or "
            "fewer (ingest.max_document_chars)",
        )


def check_text_chars(path: Path, chars: int, settings: IngestSettings, where: str = "") -> None:
    if chars > settings.max_document_chars:
        raise LimitExceededError(
            path,
            f"{where}{chars:,} characters of text is over ingest.max_document_chars "
            f"({settings.max_document_chars:,})",
        )
