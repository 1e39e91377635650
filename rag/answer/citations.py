"""Citation markers in generated text, as pure functions.

An answer cites passages with markers such as [1], [2][3] or [1, 2]. A
marker may sit before or after the sentence's full stop; a marker that opens
a sentence belongs to the sentence before it. Markers naming passages that
were never shown are removed and reported; repeats collapse to one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
_SPACES = re.compile(r"[ \t]{2,}")
_LEADING_MARKERS = re.compile(r"^((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)\s*")


@dataclass(frozen=True)
class CitedSentence:
    text: str  # without markers
    markers: tuple[int, ...]  # valid passage numbers, first mention order


@dataclass(frozen=True)
class ParsedAnswer:
    sentences: tuple[CitedSentence, ...]
    invalid: tuple[int, ...]  # numbers cited that name no shown passage


def markers_in(text: str) -> list[int]:
    return [int(n) for match in MARKER.finditer(text) for n in re.split(r"\s*,\s*", match[1])]


def strip_markers(text: str) -> str:
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", MARKER.sub("", text))
    return _SPACES.sub(" ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences, each keeping the markers that follow its full stop."""
    pieces = [p for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    merged: list[str] = []
    for piece in pieces:
        rest = piece
        leading = _LEADING_MARKERS.match(piece)
        if leading and merged:
            merged[-1] += " " + leading.group(1).strip()
            rest = piece[leading.end() :]
        if rest.strip():
            merged.append(rest.strip())
    return merged


def parse_answer(text: str, shown: int) -> ParsedAnswer:
    """Sentences with their valid markers (1..shown); invalid ones reported."""
    sentences = []
    invalid: list[int] = []
    for raw in split_sentences(text):
        numbers = markers_in(raw)
        valid = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= shown))
        invalid.extend(n for n in numbers if not 1 <= n <= shown)
        clean = strip_markers(raw)
        if any(char.isalnum() for char in clean):  # a stray "." is no sentence
            sentences.append(CitedSentence(clean, valid))
    return ParsedAnswer(tuple(sentences), tuple(dict.fromkeys(invalid)))


def carry_back(sentences: Sequence[CitedSentence]) -> tuple[CitedSentence, ...]:
    """Uncited sentences take the markers of the next cited sentence.

    Small models often cite once at the end of a run of sentences. The
    inherited citations are still checked like any other, so a sentence the
    passage does not support is flagged all the same.
    """
    result = list(sentences)
    following: tuple[int, ...] = ()
    for i in range(len(result) - 1, -1, -1):
        if result[i].markers:
            following = result[i].markers
        elif following:
            result[i] = CitedSentence(result[i].text, following)
    return tuple(result)


def render(sentences: Sequence[CitedSentence]) -> str:
    """Answer text with markers placed before each sentence's final punctuation."""
    parts = []
    for sentence in sentences:
        marks = "".join(f"[{n}]" for n in sentence.markers)
        text = sentence.text
        if marks and text and text[-1] in ".!?":
            parts.append(f"{text[:-1]} {marks}{text[-1]}")
        else:
            parts.append(f"{text} {marks}".strip())
    return " ".join(parts)
