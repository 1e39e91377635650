"""Text to BM25 terms: Unicode words, lowercased, stopwords out, stemmed.

Mirrors Lucene's English analyzer as Pyserini uses it for BEIR (stemmed BM25
reaches 0.679 nDCG@10 on SciFact there, 0.665 unstemmed).
"""

from __future__ import annotations

import re

import Stemmer

from rag.errors import ConfigError
from rag.settings import TokenizerSettings

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET.
LUCENE_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
_WORD = re.compile(r"\w+", re.UNICODE)


class TermAnalyzer:
    def __init__(self, settings: TokenizerSettings) -> None:
        self._lowercase = settings.lowercase
        self._stopwords = LUCENE_STOPWORDS if settings.stopwords == "lucene" else frozenset()
        self._stemmer = None
        if settings.stemmer != "none":
            try:
                self._stemmer = Stemmer.Stemmer(settings.stemmer)
            except KeyError:
                known = ", ".join(sorted(Stemmer.algorithms()))
                raise ConfigError(
                    f"unknown stemmer {settings.stemmer!r}", f"use one of: none, {known}"
                ) from None

    def terms(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower() if self._lowercase else text)
        kept = [w for w in words if w not in self._stopwords]
        return self._stemmer.stemWords(kept) if self._stemmer else kept
