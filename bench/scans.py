"""Scanned PDFs made from real ones: pages rendered to images and written back
as an image-only PDF, with no text layer, for OCR tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium


def image_only_pdf(source: Path, pages: Sequence[int], out: Path, dpi: int = 200) -> list[str]:
    """The 1-based `pages` of `source` as an image-only PDF at `out`; each
    page's original text layer, to measure what OCR reads back against."""
    document = pdfium.PdfDocument(source)
    images, texts = [], []
    try:
        for number in pages:
            page = document[number - 1]
            texts.append(page.get_textpage().get_text_range())
            images.append(page.render(scale=dpi / 72, grayscale=True).to_pil().convert("RGB"))
            page.close()
    finally:
        document.close()
    images[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return texts
