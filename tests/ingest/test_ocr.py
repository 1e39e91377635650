"""OCR of scanned PDFs: real PDFs from `../shared/pdfs` rendered to images and
made back into image-only PDFs, then ingested. The words read are measured
against the original text layer, and a question about a scanned page is
answered with a citation to that page, marked as read by OCR."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.ingest import word_recall
from bench.scans import image_only_pdf
from ingest.loaders.pdf import PdfLoader
from ingest.run import Options, run_ingest
from rag.answer.serialize import AnswerData
from rag.embedding import Embedder
from rag.settings import IngestSettings, build_settings
from tests.conftest import need

PDFS = Path(__file__).resolve().parents[2].parent / "shared" / "pdfs"
SOURCE = "debian/sample-sigconf.pdf"
PAGES = (1, 2)  # the first two pages of a two-column ACM paper


@pytest.fixture(autouse=True)
def tesseract() -> None:
    """Skip here without Tesseract, but fail in CI, whose install brings it."""
    if shutil.which("tesseract") is None:
        if os.environ.get("CI"):
            pytest.fail("tesseract is not installed; CI must install tesseract-ocr")
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)")


def test_a_scanned_pdf_is_read_page_by_page(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    originals = image_only_pdf(need(PDFS / SOURCE), PAGES, path)
    document = next(PdfLoader().load(path, IngestSettings()))
    assert [p.number for p in document.pages] == list(PAGES)
    assert document.metadata["ocr_pages"] == "1,2"
    recalls = [
        word_recall(original, document.text[p.start : p.end])
        for original, p in zip(originals, document.pages, strict=True)
    ]
    print(f"OCR word recall by page: {[round(r, 3) for r in recalls]}")
    assert min(recalls) >= 0.9, recalls
    off = IngestSettings(ocr=False)
    with pytest.raises(Exception, match="no text layer"):
        next(PdfLoader().load(path, off))
    capped = next(PdfLoader().load(path, IngestSettings(ocr_max_pages=1)))
    assert [p.number for p in capped.pages] == [1]
    assert any("page 2" in w or "pages 2" in w for w in capped.warnings), capped.warnings
    assert "ingest.ocr_max_pages (1)" in " ".join(capped.warnings)


def test_a_question_about_a_scanned_page_cites_that_page_read_by_ocr(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    image_only_pdf(need(PDFS / SOURCE), PAGES, corpus / "scan.pdf")
    settings = build_settings(
        {"index_dir": tmp_path / "index", "answer": {"generator": "extractive"}}, use_env=False
    )
    report = run_ingest(settings, Options([corpus]), lambda: real_embedder)
    assert report.added == 1 and not report.failed
    from rag.answer.build import make_answerer
    from rag.index.snapshot import open_current
    from rag.llm.lazy import LazyLLM
    from rag.retrieval.hybrid import HybridRetriever

    snapshot = open_current(settings.index_dir)
    llm = LazyLLM(settings)
    try:
        retriever = HybridRetriever(snapshot, real_embedder, settings.tokenizer, settings.retrieval)
        answer = make_answerer(settings, retriever, real_embedder, llm).answer(
            "Which template style do all but three ACM journals use?"
        )
    finally:
        llm.close()
        snapshot.close()
    data = AnswerData.of(answer).model_dump()
    assert not answer.refused, answer.answer
    assert "journals use the acmsmal" in answer.answer  # OCR reads "acmsmall" as "acmsmal1"
    cited = data["citations"][0]
    assert cited["ocr"] is True and cited["span_page_start"] == 2
