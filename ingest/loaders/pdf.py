"""PDF loader: text per page, page numbers kept, ligatures folded, tables as Markdown.

Two parsers, `ingest.pdf_parser`: PDFium (`pdf_pdfium`, the default, in C)
and pypdf (`pdf_pypdf`, pure Python, the reference). Both open the file with
pypdf (decryption, the page tree, stream limits) and share the rest: cleaning
(`ingest.cleaning`), the page numbers, the "no text layer" verdicts and the
title. On the 485 pages of ../shared/pdfs PDFium reads about 5 times faster
(2.0 s against 9.5 s on one core here, pypdf's structure pass included),
with the same pages and words (tests/ingest/test_pdf_pdfium.py); with
`ingest.pdf_tables` it also writes ruled tables as Markdown (`pdf_tables`,
3.9 s in all).

Hostile files are bounded (`ingest.loaders.limits`): no stream is inflated
past `ingest.max_pdf_stream_mb`, a page tree that loops is refused, and so is
a file of more than `ingest.max_pages` pages; a page stops at
`ingest.max_page_chars` characters and the file at `ingest.max_document_chars`;
the `ingest.parse_timeout_s` deadline is checked between pages and, by
pypdf, between content operators (how PDFium is held to the same bounds:
`pdf_pdfium`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from ingest import ocr
from ingest.cleaning import count_word_chars, join_hyphenated, normalize_text
from ingest.loaders.base import read_bytes
from ingest.loaders.limits import TextBudget
from ingest.loaders.pdf_pdfium import pdfium_pages
from ingest.loaders.pdf_pypdf import OpenedPdf, PypdfPages, open_pdf, stream_limits, title
from rag.documents import Document, PageSpan
from rag.errors import CorruptFileError, LimitExceededError, NoTextError
from rag.modes import PdfParser
from rag.settings import IngestSettings

PAGE_SEPARATOR = "\n\n"


class PageTexts(Protocol):
    def text(self, number: int) -> str:
        """Page `number`'s raw text (1-based), held to the page's bounds."""
        ...


class PdfLoader:
    suffixes = (".pdf",)

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        yield _load(path, settings)


def _load(path: Path, settings: IngestSettings) -> Document:
    budget = TextBudget(path, settings)  # the deadline runs from here
    data = read_bytes(path, settings)
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise CorruptFileError(path, "no %PDF header")
    with stream_limits(settings):
        opened = open_pdf(path, data, settings)
        count = len(opened.reader.pages)
        if count > settings.max_pages:
            raise LimitExceededError(
                path, f"{count:,} pages is over ingest.max_pages ({settings.max_pages:,})"
            )
        with _pages(opened, data, budget, settings) as pages:
            texts = [_page_text(pages, number, budget) for number in range(1, count + 1)]
        read = _by_ocr(opened, data, texts, budget, settings)
        return _assemble(path, title(opened.reader), texts, settings.min_page_chars, read)


def _by_ocr(
    opened: OpenedPdf, data: bytes, texts: list[str], budget: TextBudget, settings: IngestSettings
) -> ocr.OcrResult:
    """The pages without a text layer read by OCR (`ingest.ocr`); their texts
    replace the empty ones in `texts`."""
    empty = [n for n, t in enumerate(texts, start=1) if not _has_text(t, settings.min_page_chars)]
    if not settings.ocr or not empty:
        return ocr.OcrResult()
    read = ocr.read_pages(opened, data, empty, settings, budget)
    for number, raw in read.texts.items():
        budget.take(len(raw))
        texts[number - 1] = join_hyphenated(normalize_text(raw))
    return read


def _has_text(text: str, min_chars: int) -> bool:
    return count_word_chars(text) >= max(min_chars, 1)


@contextmanager
def _pages(
    opened: OpenedPdf, data: bytes, budget: TextBudget, settings: IngestSettings
) -> Iterator[PageTexts]:
    if settings.pdf_parser is PdfParser.PYPDF:
        yield PypdfPages(opened.reader, budget, settings)
        return
    with pdfium_pages(opened, data, budget, settings) as pages:
        yield pages


def _page_text(pages: PageTexts, number: int, budget: TextBudget) -> str:
    budget.check_time(f"page {number}")
    raw = pages.text(number)
    budget.take(len(raw))
    return join_hyphenated(normalize_text(raw))


def _assemble(
    path: Path, title: str, texts: list[str], min_chars: int, read: ocr.OcrResult
) -> Document:
    parts: list[str] = []
    pages: list[PageSpan] = []
    empty: list[int] = []
    offset = 0
    for number, text in enumerate(texts, start=1):
        if not _has_text(text, min_chars):
            empty.append(number)
            continue
        if parts:
            offset += len(PAGE_SEPARATOR)
        pages.append(PageSpan(number, offset, offset + len(text)))
        parts.append(text)
        offset += len(text)
    if not pages:
        said = "; ".join(read.warnings)
        raise NoTextError(
            path,
            f"none of its {len(texts)} pages has extractable text" + (f" ({said})" if said else ""),
        )
    warnings = tuple(read.warnings)
    if empty:
        listed = ", ".join(map(str, empty))
        warnings += (f"pages {listed} of {len(texts)}: no text layer: scanned or form-only?",)
    ocr_pages = sorted(n for n in read.texts if n not in empty)
    metadata = {"format": "pdf", "page_count": str(len(texts))}
    if ocr_pages:
        metadata["ocr_pages"] = ",".join(map(str, ocr_pages))
    return Document(
        source_path=str(path),
        source_key=str(path),
        title=title or path.stem,
        text=PAGE_SEPARATOR.join(parts),
        pages=tuple(pages),
        metadata=metadata,
        warnings=warnings,
    )
