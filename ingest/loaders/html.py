"""HTML loader: visible text only, the title kept, headings as a path, data
tables as Markdown tables at their place (`ingest.loaders.html_tables`).

The text is gathered in one walk of the tree, a blank line around each block
element: inserting the blank lines into the tree instead (as this loader once
did) costs time quadratic in the number of blocks, 257 s for 20,000
paragraphs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bs4 import BeautifulSoup, CData, Tag
from bs4.element import NavigableString, PageElement

from ingest.cleaning import count_word_chars, normalize_text
from ingest.loaders.base import read_decoded
from ingest.loaders.html_tables import is_data_table, render_table
from ingest.loaders.limits import TextBudget
from rag.documents import Document, HeadingMark
from rag.errors import EmptyFileError
from rag.settings import IngestSettings

_INVISIBLE = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = (
    *_HEADINGS,
    "p",
    "div",
    "li",
    "tr",
    "br",
    "section",
    "article",
    "pre",
    "blockquote",
    "table",
    "ul",
    "ol",
    "dd",
    "dt",
    "header",
    "footer",
    "main",
)


class HtmlLoader:
    suffixes = (".html", ".htm", ".xhtml")

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        soup = BeautifulSoup(read_decoded(path, settings), "html.parser")
        title = normalize_text(soup.title.get_text()) if soup.title else ""
        for tag in soup.find_all(_INVISIBLE):
            tag.decompose()
        text, headings = _visible_text(soup, TextBudget(path, settings))
        if count_word_chars(text) == 0:
            raise EmptyFileError(path, "no visible text")
        yield Document(
            source_path=str(path),
            source_key=str(path),
            title=title or path.stem,
            text=text,
            headings=tuple(headings),
            metadata={"format": "html"},
        )


def _visible_text(soup: BeautifulSoup, budget: TextBudget) -> tuple[str, list[HeadingMark]]:
    """Blocks separated by blank lines; heading offsets located in the final text."""
    text = normalize_text(_block_text(soup, budget))
    marks: list[HeadingMark] = []
    stack: list[tuple[int, str]] = []
    cursor = 0
    for tag in soup.find_all(_HEADINGS):
        assert isinstance(tag, Tag)
        name = normalize_text(_block_text(tag))
        offset = text.find(name, cursor) if name else -1
        if offset < 0:
            continue
        level = int(tag.name[1])
        stack = [(lvl, n) for lvl, n in stack if lvl < level]
        stack.append((level, name))
        marks.append(HeadingMark(offset, tuple(n for _, n in stack)))
        cursor = offset + len(name)
    return text, marks


_BLOCK_BREAK = "\n\n"


def _block_text(root: Tag, tables: TextBudget | None = None) -> str:
    """The document's strings in order, with a blank line before and after each
    block element; one pass, without recursion (nesting can be deep). Given a
    budget for their copied cells, data tables are rendered as Markdown."""
    pieces: list[str] = []
    todo: list[PageElement | str] = [root]
    while todo:
        node = todo.pop()
        if isinstance(node, Tag):
            if tables is not None and node.name == "table" and is_data_table(node):
                pieces += [_BLOCK_BREAK, render_table(node, tables), _BLOCK_BREAK]
                continue
            if node.name in _BLOCKS:
                pieces.append(_BLOCK_BREAK)
                todo.append(_BLOCK_BREAK)  # taken after the children
            todo.extend(reversed(node.contents))
        elif type(node) in (NavigableString, CData) or not isinstance(node, PageElement):
            pieces.append(str(node))  # text, or a pending break; comments are neither
    return "".join(pieces)
