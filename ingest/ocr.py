"""OCR for PDF pages without a text layer: each page rendered by PDFium and
read by Tesseract, page by page, so a scanned PDF is searchable with its page
numbers.

Tesseract (Debian's `tesseract-ocr`) was chosen over RapidOCR (ONNX models in
its wheel) by measuring both on 7 pages of 5 real PDFs from `../shared/pdfs`,
rendered at 200 dpi in greyscale and read back, against each page's own text
layer: Tesseract recovered 0.954 of the words (mean; 0.786 to 1.000) at a
median 1.46 s of CPU a page on one thread, RapidOCR 0.857 (0.596 to 1.000) at
10.8 s. Without the `tesseract` program the pages are reported as before
("no text layer"), saying OCR would read them.

Bounds (`IngestSettings`): `ocr_max_pages` pages of one file, each given
`ocr_page_timeout_s` (the process is killed there), all within the file's
`parse_timeout_s`. PDFium renders a page in one call that cannot be stopped,
so a page is rendered only when its content is within what PDFium is given
for text (`pdf_pdfium.MAX_WORK`, forms counted each time they are drawn) and
its images together hold at most `ocr_max_megapixels`; the page itself is
rendered at most that large (at a lower resolution if need be). A page over
a bound is named in the document's warnings and left out; the rest of the
file is kept. Rendering holds `PDFIUM_LOCK`, as all PDFium calls do.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PageObject
from pypdf.errors import PyPdfError
from pypdf.generic import DictionaryObject

from ingest.loaders.limits import TextBudget
from ingest.loaders.pdf_content import ContentMeter
from ingest.loaders.pdf_pdfium import MAX_WORK, PDFIUM_LOCK, open_document
from ingest.loaders.pdf_pypdf import BROKEN, OpenedPdf
from rag.settings import IngestSettings

TESSERACT = "tesseract"
POINTS_PER_INCH = 72
MAX_FORM_DEPTH = 8  # images inside forms inside forms: deeper ones are not counted


@dataclass
class OcrResult:
    """Text read from each page, by 1-based page number, and what was not read."""

    texts: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def available() -> bool:
    return shutil.which(TESSERACT) is not None


def read_pages(
    opened: OpenedPdf,
    data: bytes,
    pages: Sequence[int],
    settings: IngestSettings,
    budget: TextBudget,
) -> OcrResult:
    """OCR of the 1-based `pages` of the PDF `data`, which `opened` holds open."""
    result = OcrResult()
    if not pages:
        return result
    if not available():
        result.warnings.append(
            _listed(pages, "not read by OCR: install tesseract-ocr to read them")
        )
        return result
    chosen, skipped = list(pages[: settings.ocr_max_pages]), list(pages[settings.ocr_max_pages :])
    if skipped:
        said = f"not read by OCR: over ingest.ocr_max_pages ({settings.ocr_max_pages})"
        result.warnings.append(_listed(skipped, said))
    meter = ContentMeter()
    for number in chosen:
        budget.check_time(f"OCR of page {number}")
        text, problem = _read_page(opened, data, number, meter, settings, budget.path)
        if problem is not None:
            result.warnings.append(_listed([number], problem))
        else:
            result.texts[number] = text
    return result


def _read_page(
    opened: OpenedPdf,
    data: bytes,
    number: int,
    meter: ContentMeter,
    settings: IngestSettings,
    path: Path,
) -> tuple[str, str | None]:
    """The page's text by OCR, or why there is none."""
    page = opened.reader.pages[number - 1]
    problem = _unrenderable(page, meter, settings)
    if problem is not None:
        return "", f"not read by OCR: {problem}"
    png = _render(path, opened, data, number, _scale(page, settings))
    return recognize(png, settings.ocr_languages, settings.ocr_page_timeout_s)


def _unrenderable(page: PageObject, meter: ContentMeter, settings: IngestSettings) -> str | None:
    """Why PDFium must not render `page`, or None."""
    limit = settings.ocr_max_megapixels * 1_000_000
    try:
        work = meter.page(page).work
        pixels = _image_pixels(page.get("/Resources"), 0)
    except (PyPdfError, *BROKEN) as exc:
        return f"its content cannot be measured ({type(exc).__name__})"
    if work > MAX_WORK:
        return f"{work:,} bytes of content is over what PDFium is given ({MAX_WORK:,})"
    if pixels > limit:
        return f"its images hold {pixels / 1e6:,.0f} megapixels (ingest.ocr_max_megapixels)"
    return None


def _image_pixels(resources: object, depth: int) -> int:
    """Pixels of the images a page's resources hold, forms included."""
    resources = getattr(resources, "get_object", lambda: resources)()
    if not isinstance(resources, DictionaryObject) or depth > MAX_FORM_DEPTH:
        return 0
    xobjects = resources.get("/XObject")
    xobjects = xobjects.get_object() if xobjects is not None else None
    if not isinstance(xobjects, DictionaryObject):
        return 0
    total = 0
    for ref in xobjects.values():
        drawn = ref.get_object()
        if not isinstance(drawn, DictionaryObject):
            continue
        if drawn.get("/Subtype") == "/Image":
            total += int(drawn.get("/Width", 0)) * int(drawn.get("/Height", 0))
        elif drawn.get("/Subtype") == "/Form":
            total += _image_pixels(drawn.get("/Resources"), depth + 1)
    return total


def _scale(page: PageObject, settings: IngestSettings) -> float:
    """`ocr_dpi`, lowered so the rendered page holds at most `ocr_max_megapixels`."""
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    scale = settings.ocr_dpi / POINTS_PER_INCH
    limit = settings.ocr_max_megapixels * 1_000_000
    if width * height * scale * scale > limit:
        scale = (limit / max(width * height, 1.0)) ** 0.5
    return scale


def _render(path: Path, opened: OpenedPdf, data: bytes, number: int, scale: float) -> bytes:
    with PDFIUM_LOCK:
        document = open_document(path, data, opened.password)
        try:
            page = document[number - 1]
            try:
                image = page.render(scale=scale, grayscale=True).to_pil()
            finally:
                page.close()
        finally:
            document.close()
    png = io.BytesIO()
    image.save(png, "PNG")
    return png.getvalue()


def recognize(png: bytes, languages: str, timeout_s: float) -> tuple[str, str | None]:
    """Tesseract's text of one image, on one thread, or why there is none."""
    command = [TESSERACT, "-", "-", "-l", languages, "--psm", "3"]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # its OpenMP threads would spin
    try:
        done = subprocess.run(
            command, input=png, capture_output=True, timeout=timeout_s, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return "", f"OCR took over ingest.ocr_page_timeout_s ({timeout_s:g} s)"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return "", f"OCR failed: {said[-1] if said else f'exit {done.returncode}'}"
    return done.stdout.decode("utf-8", "replace"), None


def _listed(pages: Sequence[int], said: str) -> str:
    return f"pages {', '.join(map(str, pages))}: {said}"
