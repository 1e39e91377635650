from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import loader_for
from rag.documents import Document
from rag.errors import (
    BinaryFileError,
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    NoTextError,
    UnsupportedFileError,
)
from rag.settings import IngestSettings
from tests.conftest import PDFS, need
from tests.pdfs import encrypted_copy, text_pdf

SETTINGS = IngestSettings()


def load(path: Path, settings: IngestSettings = SETTINGS) -> list[Document]:
    return list(loader_for(path).load(path, settings))


def page_text(doc: Document, number: int) -> str:
    span = next(p for p in doc.pages if p.number == number)
    return doc.text[span.start : span.end]


def test_pdf_pages_keep_their_numbers(tmp_path: Path) -> None:
    pages = [
        "Alpha page talks about rivers and lakes.",
        "Beta page talks about mountains and valleys.",
        "Gamma page talks about deserts and dunes.",
    ]
    [doc] = load(text_pdf(tmp_path / "three.pdf", pages, title="Landscapes"))
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert "mountains" in page_text(doc, 2)
    assert doc.title == "Landscapes"
    start = doc.text.index("deserts")
    assert doc.page_range(start, start + 7) == (3, 3)


def test_pdf_blank_pages_are_reported_not_indexed(tmp_path: Path) -> None:
    [doc] = load(
        text_pdf(
            tmp_path / "gap.pdf",
            ["First page has words enough.", "", "Third page has words enough too."],
        )
    )
    assert [p.number for p in doc.pages] == [1, 3]
    assert doc.warnings == ("pages 2 of 3: no text layer: scanned or form-only?",)


def test_pdf_without_any_text_layer_fails(tmp_path: Path) -> None:
    with pytest.raises(NoTextError, match="none of its 2 pages"):
        load(text_pdf(tmp_path / "scan.pdf", ["", ""]))


def test_encrypted_pdf_needs_its_password(tmp_path: Path) -> None:
    plain = text_pdf(tmp_path / "plain.pdf", ["Secret plans for the garden party."])
    locked = encrypted_copy(plain, tmp_path / "locked.pdf", "hunter2")
    with pytest.raises(EncryptedFileError, match="needs a password"):
        load(locked)
    with pytest.raises(EncryptedFileError, match="wrong password"):
        load(locked, IngestSettings(password="nope"))
    [doc] = load(locked, IngestSettings(password="hunter2"))
    assert "garden party" in doc.text


def test_truncated_pdf_is_reported_as_corrupt(tmp_path: Path) -> None:
    whole = text_pdf(tmp_path / "whole.pdf", ["Some text. " * 50] * 3)
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole.read_bytes()[:200])
    with pytest.raises((CorruptFileError, NoTextError)):
        load(cut)


def test_not_a_pdf_at_all(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pdf"
    fake.write_text("just some words, no PDF header")
    with pytest.raises(CorruptFileError, match="no %PDF header"):
        load(fake)


def test_zero_byte_file(tmp_path: Path) -> None:
    for name in ("empty.pdf", "empty.txt", "empty.md", "empty.html"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(EmptyFileError, match="zero bytes"):
            load(tmp_path / name)


def test_binary_junk_named_txt(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(BinaryFileError):
        load(junk)


def test_non_utf8_text_is_decoded(tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Crème brûlée, café au lait, naïve façade. ".encode("latin-1") * 5)
    [doc] = load(latin)
    assert "Crème brûlée" in doc.text
    utf16 = tmp_path / "wide.txt"
    utf16.write_bytes("Grüße aus Köln".encode("utf-16"))
    assert load(utf16)[0].text == "Grüße aus Köln"


def test_markdown_keeps_heading_path(tmp_path: Path) -> None:
    md = tmp_path / "guide.md"
    md.write_text(
        "# Guide\n\nIntro.\n\n## Install\n\nRun pip.\n\n```\n# not a heading\n```\n\n"
        "### Extras\n\nOptional parts.\n\n## Usage\n\nRun rag.\n",
        encoding="utf-8",
    )
    [doc] = load(md)
    assert doc.title == "Guide"
    assert doc.heading_path(doc.text.index("Run pip")) == ("Guide", "Install")
    assert doc.heading_path(doc.text.index("not a heading")) == ("Guide", "Install")
    assert doc.heading_path(doc.text.index("Optional")) == ("Guide", "Install", "Extras")
    assert doc.heading_path(doc.text.index("Run rag")) == ("Guide", "Usage")


def test_html_visible_text_and_title(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Care of Ferns</title><style>p {color: red}</style></head><body>"
        "<script>var hidden = 'SECRET';</script><h1>Ferns</h1><p>Water them weekly.</p>"
        "<h2>Light</h2><p>Keep them in shade.</p></body></html>",
        encoding="utf-8",
    )
    [doc] = load(page)
    assert doc.title == "Care of Ferns"
    assert "Water them weekly." in doc.text and "Keep them in shade." in doc.text
    assert "SECRET" not in doc.text and "color" not in doc.text
    assert doc.heading_path(doc.text.index("shade")) == ("Ferns", "Light")


def test_beir_corpus_lines_become_documents(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        '{"_id": "d1", "title": "Cats", "text": "Cats purr."}\n'
        '{"_id": "d2", "title": "", "text": "Dogs bark."}\n',
        encoding="utf-8",
    )
    docs = load(corpus)
    assert [d.metadata["beir_id"] for d in docs] == ["d1", "d2"]
    assert docs[0].text == "Cats\n\nCats purr." and docs[1].text == "Dogs bark."
    assert docs[0].doc_id != docs[1].doc_id


def test_beir_bad_line_is_reported_with_its_number(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "d1", "text": "ok"}\n{"text": "no id"}\n', encoding="utf-8")
    with pytest.raises(CorruptFileError, match="line 2"):
        load(corpus)


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError, match=r"\.xlsx"):
        loader_for(tmp_path / "report.xlsx")


# Real PDFs from ../shared/pdfs


def test_ligatures_in_geotopo_are_searchable() -> None:
    [doc] = load(need(PDFS / "py-pdf-sample-files/GeoTopo-komprimiert.pdf"))
    assert "affine" in doc.text
    assert "\ufb03" not in doc.text
    assert not any(ord(ch) < 9 or 13 < ord(ch) < 32 for ch in doc.text)
    assert len(doc.pages) == 117


def test_real_encrypted_pdfs() -> None:
    for name, password in [
        ("py-pdf-sample-files/libreoffice-writer-password.pdf", "openpassword"),
        ("pdfplumber-tests/password-example.pdf", "test"),
    ]:
        path = need(PDFS / name)
        with pytest.raises(EncryptedFileError):
            load(path)
        [doc] = load(path, IngestSettings(password=password))
        assert len(doc.text) > 100


def test_near_empty_pdfs_are_reported() -> None:
    for name in ("py-pdf-sample-files/habibi.pdf", "py-pdf-sample-files/pdflatex-forms.pdf"):
        with pytest.raises(NoTextError):
            load(need(PDFS / name))


def test_empty_page_of_a_long_pdf_is_named() -> None:
    [doc] = load(need(PDFS / "pdfplumber-tests/chelsea_pdta.pdf"))
    assert doc.warnings == ("pages 4 of 65: no text layer: scanned or form-only?",)
    assert 4 not in {p.number for p in doc.pages} and len(doc.pages) == 64


def test_long_manual_page_numbers() -> None:
    [doc] = load(need(PDFS / "debian/R-intro.pdf"))
    assert [p.number for p in doc.pages] == list(range(1, 114))
    hit = doc.text.index("An Introduction to R")
    assert doc.page_range(hit, hit + 10)[0] == 1
