"""Word and PowerPoint files the tests make with python-docx and python-pptx,
and the damaged, locked and empty ones a real corpus holds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pptx
import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from pptx.util import Inches

from ingest.chunking.recursive import RecursiveChunker
from ingest.loaders import loader_for
from ingest.loaders.office import OLE_SIGNATURE
from ingest.run import Options, run_ingest
from ingest.tables import find_tables
from rag.documents import Document
from rag.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    LimitExceededError,
    NoTextError,
)
from rag.index.snapshot import open_current
from rag.settings import IngestSettings, build_settings
from tests.fakes import KeywordEmbedder, WordTokenizer

SETTINGS = IngestSettings()


def load(path: Path, settings: IngestSettings = SETTINGS) -> Document:
    [document] = loader_for(path).load(path, settings)
    return document


def report_docx(path: Path, title: str = "") -> Path:
    word = docx.Document()
    word.core_properties.title = title
    word.add_paragraph("Annual Report", style="Title")
    word.add_heading("Overview", level=1)
    word.add_paragraph("The cooperative grew in 2023. Members rose by a tenth.")
    word.add_heading("Regional results", level=2)
    word.add_paragraph("Sales by region follow.")
    table = word.add_table(rows=3, cols=3)
    for r, row in enumerate([["Region", "Q1", "Q2"], ["North", "10", "12"], ["", "7", "9"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(1, 0).merge(table.cell(2, 0))  # "North" spans two rows
    table.cell(2, 2).add_table(rows=1, cols=2).cell(0, 1).text = "nested"
    word.add_heading("Outlook", level=1)
    word.add_paragraph("Growth should continue.\nPrices | costs stay level.")
    word.save(str(path))
    return path


def deck_pptx(path: Path) -> Path:
    deck = pptx.Presentation()
    intro = deck.slides.add_slide(deck.slide_layouts[1])
    assert intro.shapes.title is not None
    intro.shapes.title.text = "Harvest plan"
    intro.placeholders[1].text = "Pick apples in September\nPress cider in October"
    intro.notes_slide.notes_text_frame.text = "Mention the new press."
    deck.slides.add_slide(deck.slide_layouts[6])  # blank: no text at all
    numbers = deck.slides.add_slide(deck.slide_layouts[5])
    assert numbers.shapes.title is not None
    numbers.shapes.title.text = "Yields"
    frame = numbers.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(4), Inches(2))
    for r, row in enumerate([["Orchard", "Tonnes"], ["Hillside", "41"], ["Riverside", "38"]]):
        for c, value in enumerate(row):
            frame.table.cell(r, c).text = value
    group = numbers.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(5), Inches(3), Inches(1))
    box.text_frame.text = "Grouped caption"
    deck.save(str(path))
    return path


# --- Word ------------------------------------------------------------------


def test_docx_keeps_body_order_headings_and_tables(tmp_path: Path) -> None:
    document = load(report_docx(tmp_path / "report.docx"))
    assert document.title == "Annual Report"
    assert document.metadata == {"format": "docx"}
    table = (
        "| Region | Q1 | Q2 |\n| --- | --- | --- |\n| North | 10 | 12 |\n| North | 7 | 9 nested |"
    )
    assert document.text == (
        "Annual Report\n\nOverview\n\nThe cooperative grew in 2023. Members rose by a tenth."
        f"\n\nRegional results\n\nSales by region follow.\n\n{table}\n\nOutlook\n\n"
        "Growth should continue.\nPrices | costs stay level."
    )
    [found] = find_tables(document.text)
    assert document.heading_path(found.start) == ("Overview", "Regional results")
    assert document.heading_path(len(document.text) - 1) == ("Outlook",)
    chunks = RecursiveChunker(WordTokenizer(), 40, 0).chunk(document)
    [held] = [c for c in chunks if table in c.text]
    assert held.heading_path == ("Overview", "Regional results")
    last = next(c for c in chunks if "Growth should" in c.text)
    assert last.heading_path == ("Outlook",)


def test_docx_title_property_wins_then_the_file_name(tmp_path: Path) -> None:
    assert load(report_docx(tmp_path / "a.docx", title="Co-op 2023")).title == "Co-op 2023"
    plain = docx.Document()
    plain.add_paragraph("Just a note without headings.")
    plain.save(str(tmp_path / "memo.docx"))
    assert load(tmp_path / "memo.docx").title == "memo"


def test_docx_heading_styles_based_on_headings_count(tmp_path: Path) -> None:
    word = docx.Document()
    custom = word.styles.add_style("Chapter", 1)  # WD_STYLE_TYPE.PARAGRAPH
    custom.base_style = word.styles["Heading 1"]
    word.add_paragraph("Rivers", style="Chapter")
    word.add_paragraph("Rivers carry silt to the sea.")
    word.save(str(tmp_path / "rivers.docx"))
    document = load(tmp_path / "rivers.docx")
    assert document.heading_path(document.text.index("silt")) == ("Rivers",)
    assert document.title == "Rivers"


# --- PowerPoint -------------------------------------------------------------


def test_pptx_slides_are_pages_with_titles_tables_and_notes(tmp_path: Path) -> None:
    document = load(deck_pptx(tmp_path / "deck.pptx"))
    assert document.title == "Harvest plan"
    assert document.metadata == {"format": "pptx", "page_count": "3"}
    assert [p.number for p in document.pages] == [1, 3]
    assert document.warnings == ("slides 2 of 3: no text",)
    first, third = (document.text[p.start : p.end] for p in document.pages)
    assert first == (
        "Harvest plan\n\nPick apples in September\nPress cider in October\n\n"
        "Speaker notes: Mention the new press."
    )
    assert third == (
        "Yields\n\n| Orchard | Tonnes |\n| --- | --- |\n| Hillside | 41 |\n| Riverside | 38 |"
        "\n\nGrouped caption"
    )
    assert document.heading_path(document.text.index("Riverside")) == ("Yields",)
    chunks = RecursiveChunker(WordTokenizer(), 16, 0).chunk(document)
    riverside = next(c for c in chunks if "Riverside" in c.text)
    assert (riverside.page_start, riverside.page_end) == (3, 3)
    notes = next(c for c in chunks if "new press" in c.text)
    assert notes.page_start == 1 and notes.heading_path == ("Harvest plan",)


def test_pptx_merged_cells_are_copied_into_each_cell_they_cover(tmp_path: Path) -> None:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    table = slide.shapes.add_table(3, 3, Inches(1), Inches(1), Inches(6), Inches(2)).table
    for r, row in enumerate([["Crop", "2023", ""], ["Apples", "41", "44"], ["", "38", "40"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(0, 1).merge(table.cell(0, 2))
    table.cell(1, 0).merge(table.cell(2, 0))
    deck.save(str(tmp_path / "merged.pptx"))
    assert load(tmp_path / "merged.pptx").text == (
        "| Crop | 2023 | 2023 |\n| --- | --- | --- |\n| Apples | 41 | 44 |\n| Apples | 38 | 40 |"
    )


def test_pptx_over_max_pages_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LimitExceededError, match=r"3 slides is over ingest\.max_pages"):
        load(deck_pptx(tmp_path / "deck.pptx"), IngestSettings(max_pages=2))


def test_pptx_without_text_or_slides(tmp_path: Path) -> None:
    deck = pptx.Presentation()
    deck.save(str(tmp_path / "none.pptx"))
    with pytest.raises(EmptyFileError, match="no slides"):
        load(tmp_path / "none.pptx")
    deck.slides.add_slide(deck.slide_layouts[6])
    deck.save(str(tmp_path / "blank.pptx"))
    with pytest.raises(NoTextError, match="none of its 1 slides has text"):
        load(tmp_path / "blank.pptx")


# --- damaged, locked, empty, bombs -----------------------------------------


def without_part(source: Path, target: Path, part: str) -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            if item.filename != part:
                copy.writestr(item, original.read(item))
    return target


def encrypted(source: Path, target: Path) -> Path:
    with source.open("rb") as plain, target.open("wb") as locked:
        OOXMLFile(plain).encrypt("hunter2", locked)
    return target


def test_damaged_office_files_are_corrupt(tmp_path: Path) -> None:
    good = report_docx(tmp_path / "good.docx")
    (tmp_path / "junk.docx").write_bytes(b"this is no zip at all")
    with pytest.raises(CorruptFileError, match="not a zip archive"):
        load(tmp_path / "junk.docx")
    cut = tmp_path / "cut.docx"
    cut.write_bytes(good.read_bytes()[:-400])  # the zip's central directory is lost
    with pytest.raises(CorruptFileError, match="not a zip archive"):
        load(cut)
    with pytest.raises(CorruptFileError, match=r"KeyError.*word/document\.xml"):
        load(without_part(good, tmp_path / "hollow.docx", "word/document.xml"))
    with pytest.raises(CorruptFileError, match=r"without \[Content_Types\]\.xml"):
        load(without_part(good, tmp_path / "untyped.docx", "[Content_Types].xml"))
    (tmp_path / "legacy.doc.docx").write_bytes(OLE_SIGNATURE + bytes(504))
    with pytest.raises(CorruptFileError, match="legacy binary Word format"):
        load(tmp_path / "legacy.doc.docx")


def test_password_protected_office_files_are_named_encrypted(tmp_path: Path) -> None:
    locked = encrypted(report_docx(tmp_path / "plain.docx"), tmp_path / "locked.docx")
    assert locked.read_bytes().startswith(OLE_SIGNATURE)
    with pytest.raises(EncryptedFileError, match="password-protected Word file"):
        load(locked)
    deck = encrypted(deck_pptx(tmp_path / "plain.pptx"), tmp_path / "locked.pptx")
    with pytest.raises(EncryptedFileError, match="password-protected PowerPoint file"):
        load(deck)


def test_empty_office_files(tmp_path: Path) -> None:
    (tmp_path / "zero.docx").write_bytes(b"")
    with pytest.raises(EmptyFileError, match="zero bytes"):
        load(tmp_path / "zero.docx")
    docx.Document().save(str(tmp_path / "blank.docx"))
    with pytest.raises(EmptyFileError, match="no text in its paragraphs or tables"):
        load(tmp_path / "blank.docx")


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    good = report_docx(tmp_path / "good.docx")
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(good) as original, zipfile.ZipFile(bomb, "w") as copy:
        for item in original.infolist():
            copy.writestr(item, original.read(item), zipfile.ZIP_DEFLATED)
        copy.writestr("word/media/zeros.bin", bytes(3 * 1024 * 1024), zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 100_000
    with pytest.raises(
        LimitExceededError, match=r"unzip to \d MB, over ingest\.max_unzipped_mb \(2\)"
    ):
        load(bomb, IngestSettings(max_unzipped_mb=2))
    assert "Regional results" in load(bomb).text  # within the default bound


def test_bad_office_files_are_reported_while_the_rest_ingests(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    report_docx(corpus / "report.docx")
    deck_pptx(corpus / "deck.pptx")
    (corpus / "notes.md").write_text("# Notes\n\nBring ladders for the orchard.\n")
    encrypted(report_docx(tmp_path / "plain.docx"), corpus / "locked.docx")
    (corpus / "broken.pptx").write_bytes(b"PK\x03\x04 truncated")
    (corpus / "zero.docx").write_bytes(b"")
    without_part(corpus / "report.docx", corpus / "hollow.docx", "word/document.xml")
    (corpus / "~$report.docx").write_bytes(b"\x05owner" + bytes(150))  # Word's lock file
    settings = build_settings({"index_dir": tmp_path / "index"}, use_env=False)
    report = run_ingest(settings, Options([corpus]), KeywordEmbedder)
    failed = {Path(path).name: reason for path, reason in report.failed}
    assert sorted(failed) == ["broken.pptx", "hollow.docx", "locked.docx", "zero.docx"]
    assert failed["locked.docx"].startswith("encrypted: a password-protected Word file")
    assert failed["broken.pptx"].startswith("corrupt or truncated file: not a zip archive")
    assert failed["hollow.docx"].startswith("corrupt or truncated file: KeyError")
    assert failed["zero.docx"] == "empty file: zero bytes"
    assert report.added == 3  # and the lock file is passed over, as hidden files are
    snapshot = open_current(settings.index_dir)
    try:
        formats = {d.metadata["format"] for d in snapshot.store.documents()}
        assert formats == {"docx", "pptx", "markdown"}
        deck = next(d for d in snapshot.store.documents() if d.source_path.endswith(".pptx"))
        [chunk] = snapshot.store.chunks_of(deck.doc_id)
        assert (chunk.page_start, chunk.page_end) == (1, 3)
    finally:
        snapshot.close()


def rewritten(source: Path, target: Path, part: str, old: bytes, new: bytes) -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            copy.writestr(item, data.replace(old, new, 1) if item.filename == part else data)
    return target


def test_a_cell_spanning_a_billion_columns_is_refused_at_once(tmp_path: Path) -> None:
    word = docx.Document()
    word.add_table(rows=2, cols=2).cell(0, 0).text = "a"
    word.save(str(tmp_path / "plain.docx"))
    span = b'<w:tc><w:tcPr><w:gridSpan w:val="1000000000"/>'
    wide = rewritten(
        tmp_path / "plain.docx",
        tmp_path / "wide.docx",
        "word/document.xml",
        b"<w:tc><w:tcPr>",
        span,
    )
    with pytest.raises(CorruptFileError, match="spans 1,000,000 columns or more"):
        load(wide)


def test_office_reader_errors_do_not_escape_as_crashes(tmp_path: Path) -> None:
    good = report_docx(tmp_path / "good.docx")
    broken = tmp_path / "badxml.docx"
    with zipfile.ZipFile(good) as original, zipfile.ZipFile(broken, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "word/document.xml":
                data = data[: len(data) // 2]  # XML cut mid-element
            copy.writestr(item, data)
    with pytest.raises(CorruptFileError, match="XMLSyntaxError"):
        load(broken)
