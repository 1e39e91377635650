"""PDFs the tests make themselves: paged text, blank pages, encryption."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter


def text_pdf(path: Path, pages: list[str], title: str = "Test document") -> Path:
    """One page per string; an empty string makes a page with no text layer."""
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def encrypted_copy(source: Path, target: Path, password: str) -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=password, owner_password=None, algorithm="AES-256")
    with target.open("wb") as handle:
        writer.write(handle)
    return target
