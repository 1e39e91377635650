"""PDFium's text layer (pypdfium2), the default PDF parser (`ingest.pdf_parser`).

PDFium lays each page out in C. The file is opened by pypdf first, as for the
reference (`pdf_pypdf`: decryption, the page tree, stream limits), then by
PDFium with the password that worked; a file or page PDFium cannot open is
read by pypdf (logged), so PDFium never loses a file pypdf reads. Its
characters become text in `pdf_chars`; ruled tables become Markdown in
`pdf_tables` (`ingest.pdf_tables`).

Bounds. A C parser cannot be interrupted between operators, and nothing
kills the parse worker at `ingest.parse_timeout_s` (`ingest.parsing` only
replaces a worker that died). So each page is measured first (`pdf_content`,
which inflates every stream PDFium needs for the text under
`ingest.max_pdf_stream_mb`), and PDFium gets only a page that shows at most
`ingest.max_page_chars` bytes of strings in at most `MAX_WORK` bytes of
content, forms counted each time they are drawn: its text then stays within
the page's bound (it is counted afterwards too), and its time and memory
within what `MAX_WORK` costs. Any other page (none of the 485 in
../shared/pdfs; every text, form and operator bomb) is read by pypdf, which
stops at the same bounds, with the same messages, between operators. The
deadline is checked between pages.

Threads. PDFium must never be called from two threads at once, even on two
documents (pypdfium2's documentation: it would crash or corrupt the
process). The service runs ingest jobs in threads, which parse in this
process when `ingest.parse_workers` is 0; so every use of PDFium holds
`PDFIUM_LOCK`, here for as long as a document is open.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pypdf.errors import LimitReachedError, PyPdfError

from ingest.loaders.limits import TextBudget
from ingest.loaders.pdf_chars import plain_text
from ingest.loaders.pdf_content import UNBOUNDED, ContentMeter, PageContent
from ingest.loaders.pdf_pypdf import BROKEN, OpenedPdf, PypdfPages, bomb, too_many_chars
from ingest.loaders.pdf_tables import MIN_RULINGS, text_with_tables
from rag.errors import CorruptFileError, EncryptedFileError
from rag.settings import IngestSettings

# 4 MiB of path operators take PDFium 0.26 s and 110 MiB (rectangles, the
# costliest measured; the operator bomb of tests/ingest/test_hostile_corpus.py,
# 117 MB of them, took 7.5 s and 2.2 GB). The densest page in ../shared/pdfs
# has 483 KB of content.
MAX_WORK = 4 * 1024 * 1024
PDFIUM_LOCK = threading.RLock()
log = logging.getLogger("rag.ingest")


@contextmanager
def pdfium_pages(
    opened: OpenedPdf, data: bytes, budget: TextBudget, settings: IngestSettings
) -> Iterator[PdfiumPages | PypdfPages]:
    """The PDF open in PDFium, holding `PDFIUM_LOCK` until it is closed; read
    by pypdf, which has opened it, if PDFium cannot open it."""
    with PDFIUM_LOCK:
        try:
            pages = PdfiumPages(opened, data, budget, settings)
        except (CorruptFileError, EncryptedFileError) as exc:
            log.warning("%s: %s; read by pypdf instead", budget.path, exc)
            yield PypdfPages(opened.reader, budget, settings)
            return
        try:
            yield pages
        finally:
            pages.close()


class PdfiumPages:
    """Page texts laid out by PDFium; a page it cannot bound is read by pypdf."""

    def __init__(
        self, opened: OpenedPdf, data: bytes, budget: TextBudget, settings: IngestSettings
    ) -> None:
        self._document = open_document(budget.path, data, opened.password)
        self._pages = opened.reader.pages
        self._reference = PypdfPages(opened.reader, budget, settings)
        self._meter = ContentMeter()
        self._path = budget.path
        self._settings = settings

    def close(self) -> None:
        self._document.close()

    def text(self, number: int) -> str:
        content = self._measure(number)
        if content.work > MAX_WORK or content.shown > self._settings.max_page_chars:
            return self._reference.text(number)
        raw = self._layout(number, content)
        if len(raw) > self._settings.max_page_chars:
            raise too_many_chars(self._path, number, self._settings)
        return raw

    def _measure(self, number: int) -> PageContent:
        try:
            return self._meter.page(self._pages[number - 1])
        except LimitReachedError as exc:
            raise bomb(self._path, exc, self._settings) from None
        except (PyPdfError, *BROKEN):
            return UNBOUNDED  # pypdf reads it, and reports it as the reference would

    def _layout(self, number: int, content: PageContent) -> str:
        try:
            page = self._document[number - 1]
            textpage = page.get_textpage()
        except pdfium.PdfiumError as exc:
            log.warning("%s: page %d: PDFium: %s; read by pypdf instead", self._path, number, exc)
            return self._reference.text(number)
        try:
            if self._settings.pdf_tables and content.rulings >= MIN_RULINGS:
                return text_with_tables(page, textpage)
            return plain_text(textpage)
        finally:
            textpage.close()
            page.close()


def open_document(path: Path, data: bytes, password: str | None) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise EncryptedFileError(path, "PDFium refused the password") from None
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise EncryptedFileError(path, "PDFium does not support its encryption") from None
        raise CorruptFileError(path, f"PDFium: {exc}") from None
