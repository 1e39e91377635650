"""Text clean-up shared by the loaders.

NFKC folds compatibility characters: the ligature "ﬃ" becomes "ffi", so a
search for "affine" finds "aﬃne". Math fonts in PDFs leak C0/C1 control
characters (about 2,000 in one 117-page lecture script); they are dropped.
"""

from __future__ import annotations

import re
import unicodedata

# Keep tab and newline; drop the other C0 controls, DEL and the C1 block.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Unicode line and paragraph separators read as newlines.
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
# "hyphen-\nated" -> "hyphenated" when a lowercase letter follows the break.
_HYPHEN_BREAK = re.compile(r"(\w)-\n[ \t]*(?=[a-zà-ÿ])")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFKC, unified line breaks, no control characters, tidy whitespace."""
    text = _LINE_BREAKS.sub("\n", text)
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def join_hyphenated(text: str) -> str:
    """Undo line-end hyphenation from typeset pages."""
    return _HYPHEN_BREAK.sub(r"\1", text)


def count_word_chars(text: str) -> int:
    return sum(ch.isalnum() for ch in text)
