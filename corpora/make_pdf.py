"""Render the Markdown user guide in `corpora/guide/` into one PDF.

The demo corpus holds the guide both as Markdown and as a PDF, so the main
README command (`rag ingest corpora/guide --index .rag/index`) exercises the PDF
loader on a real file. Usage:

    python corpora/make_pdf.py [TARGET]

TARGET defaults to `corpora/guide/user-guide.pdf`. Each Markdown file becomes
one section starting on a new page. Only the PDF core fonts (Helvetica,
Courier) are used, so text is reduced to latin-1 first: common typographic
characters get close ASCII equivalents and anything else becomes "?".

The output is byte-identical across runs (the creation date is fixed), so an
incremental ingest sees a regenerated PDF as unchanged.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from fpdf import FPDF
from fpdf.enums import XPos, YPos

GUIDE_DIR = Path(__file__).resolve().parent / "guide"
DEFAULT_TARGET = GUIDE_DIR / "user-guide.pdf"
TITLE = "rag user guide"
# Fixed so that the file is byte-identical across runs.
CREATION_DATE = datetime(2024, 1, 1, tzinfo=UTC)
# Reading order of the guide; other Markdown files follow in name order.
ORDER = ("installing-and-ingesting.md", "index-layout-and-settings.md", "asking-questions.md")

BODY_FONT = ("Helvetica", 10.0, 5.0)  # family, size in points, line height in mm
CODE_FONT = ("Courier", 9.0, 4.5)
HEADING_SIZES = {1: 18.0, 2: 14.0, 3: 12.0}  # deeper levels use the level-3 size
LIST_INDENT = 5.0  # mm

REPLACEMENTS = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2032": "'",
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "-",
    "\u2192": "->",
    "\u2190": "<-",
    "\u2194": "<->",
    "\u21d2": "=>",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2260": "!=",
    "\u2248": "~",
    "\u00a0": " ",
    "\u2009": " ",
    "\u200b": "",
    "\t": "    ",
}

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ ]{0,3}(```|~~~)")
_LIST_ITEM = re.compile(r"^[ ]{0,3}(?:[-*+]|\d+[.)])[ \t]+(.*)$")
_INLINE_CODE = re.compile(r"`([^`]*)`")


class Block(NamedTuple):
    """One rendered unit of a Markdown file."""

    kind: str  # "heading", "paragraph", "item" or "code"
    text: str
    level: int = 0  # heading level, 1 for "#"


def to_latin1(text: str) -> str:
    """`text` with every character encodable in latin-1, as the core fonts need.

    Known typographic characters get ASCII equivalents; others are decomposed
    (NFKD) and kept if that yields ASCII, e.g. a ligature or an accented letter
    outside latin-1; anything left becomes "?".
    """
    out: list[str] = []
    for char in text:
        if char in REPLACEMENTS:
            out.append(REPLACEMENTS[char])
            continue
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFKD", char)
            ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
            out.append(ascii_only if ascii_only and ascii_only.isascii() else "?")
        else:
            out.append(char)
    return "".join(out)


def parse_markdown(text: str) -> Iterator[Block]:
    """Headings, paragraphs, list items and fenced code blocks, in order.

    Inline code markers are dropped; continuation lines of paragraphs and list
    items are joined with spaces.
    """
    lines = iter(text.splitlines())
    pending: list[str] = []
    pending_kind = "paragraph"
    for line in lines:
        stripped = line.strip()
        heading = _HEADING.match(line)
        item = _LIST_ITEM.match(line)
        starts_block = not stripped or heading or item or _FENCE.match(line)
        if starts_block and pending:
            yield Block(pending_kind, _inline(" ".join(pending)))
            pending = []
        if not stripped:
            continue
        if _FENCE.match(line):
            yield Block("code", "\n".join(_code_lines(lines)))
        elif heading:
            yield Block("heading", _inline(heading.group(2)), len(heading.group(1)))
        elif item:
            pending, pending_kind = [item.group(1).strip()], "item"
        else:
            if not pending:
                pending_kind = "paragraph"
            pending.append(stripped)
    if pending:
        yield Block(pending_kind, _inline(" ".join(pending)))


def _code_lines(lines: Iterator[str]) -> Iterator[str]:
    """Lines of a fenced block up to its closing fence, which is consumed."""
    for line in lines:
        if _FENCE.match(line):
            return
        yield line.rstrip()


def _inline(text: str) -> str:
    return _INLINE_CODE.sub(r"\1", text)


def guide_files(source: Path) -> list[Path]:
    """The Markdown files of `source`, in the guide's reading order."""
    files = sorted(source.glob("*.md"))
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(files, key=lambda p: (rank.get(p.name, len(ORDER)), p.name))


class _Renderer:
    """Writes parsed blocks onto an FPDF document."""

    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf
        self.section_level = -1

    def section(self, blocks: Sequence[Block]) -> None:
        self.pdf.add_page()
        self.section_level = -1
        for block in blocks:
            if block.kind == "heading":
                self.heading(block.text, block.level)
            elif block.kind == "code":
                self.code(block.text)
            elif block.kind == "item":
                self.item(block.text)
            else:
                self.paragraph(block.text)

    def heading(self, text: str, level: int) -> None:
        pdf = self.pdf
        size = HEADING_SIZES.get(level, HEADING_SIZES[3])
        # Keep a heading with at least a few lines of what follows it.
        if pdf.get_y() + size + 20 > pdf.page_break_trigger:
            pdf.add_page()
        if pdf.get_y() > pdf.t_margin + 1:
            pdf.ln(3 if level > 1 else 5)
        # Outline levels may only go one deeper at a time.
        outline_level = min(level - 1, self.section_level + 1)
        self.section_level = outline_level
        pdf.start_section(to_latin1(text), level=outline_level)
        pdf.set_font("Helvetica", "B", size)
        self._write(text, size * 0.5)
        pdf.ln(1.5)

    def paragraph(self, text: str) -> None:
        family, size, height = BODY_FONT
        self.pdf.set_font(family, "", size)
        self._write(text, height)
        self.pdf.ln(2)

    def item(self, text: str) -> None:
        family, size, height = BODY_FONT
        pdf = self.pdf
        pdf.set_font(family, "", size)
        pdf.set_x(pdf.l_margin + LIST_INDENT)
        self._write("- " + text, height, indent=LIST_INDENT)
        pdf.ln(1)

    def code(self, text: str) -> None:
        family, size, height = CODE_FONT
        pdf = self.pdf
        pdf.set_font(family, "", size)
        pdf.set_x(pdf.l_margin + LIST_INDENT)
        self._write(text, height, indent=LIST_INDENT, align="L")
        pdf.ln(2)

    def _write(self, text: str, height: float, indent: float = 0.0, align: str = "L") -> None:
        self.pdf.multi_cell(
            self.pdf.epw - indent,
            height,
            to_latin1(text),
            align=align,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )


def build_pdf(source: Path, target: Path) -> Path:
    """Render every `*.md` file in `source` into one PDF at `target`; return `target`."""
    files = guide_files(source)
    if not files:
        raise FileNotFoundError(f"no Markdown files in {source}")
    pdf = FPDF(format="A4")
    pdf.set_title(TITLE)
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    renderer = _Renderer(pdf)
    for path in files:
        renderer.section(list(parse_markdown(path.read_text(encoding="utf-8"))))
    target.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(target))
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render corpora/guide/*.md into one PDF.")
    parser.add_argument(
        "target",
        nargs="?",
        type=Path,
        default=DEFAULT_TARGET,
        help=f"output file (default: {DEFAULT_TARGET})",
    )
    args = parser.parse_args(argv)
    written = build_pdf(GUIDE_DIR, args.target)
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
