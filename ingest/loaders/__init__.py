"""Loaders by file suffix."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders.base import Loader
from ingest.loaders.beir import BeirLoader
from ingest.loaders.docx import DocxLoader
from ingest.loaders.html import HtmlLoader
from ingest.loaders.markdown import MarkdownLoader
from ingest.loaders.pdf import PdfLoader
from ingest.loaders.pptx import PptxLoader
from ingest.loaders.text import TextLoader
from rag.errors import UnsupportedFileError

LOADERS: tuple[Loader, ...] = (
    PdfLoader(),
    TextLoader(),
    MarkdownLoader(),
    HtmlLoader(),
    DocxLoader(),
    PptxLoader(),
    BeirLoader(),
)
SUFFIXES = frozenset(s for loader in LOADERS for s in loader.suffixes)


def loader_for(path: Path) -> Loader:
    suffix = path.suffix.lower()
    for loader in LOADERS:
        if suffix in loader.suffixes:
            return loader
    known = ", ".join(sorted(SUFFIXES))
    raise UnsupportedFileError(path, f"'{suffix or path.name}' (supported: {known})")
