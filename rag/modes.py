"""The modes a user chooses between, each declared once.

Settings validate against these enums, the HTTP schemas and the CLI's
argparse choices are derived from them, and the code compares members, not
strings (a `StrEnum` member still equals its value, so TOML, JSON and
environment variables carry the plain words).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from rag.errors import ConfigError


class Mode(StrEnum):
    @classmethod
    def choices(cls) -> list[str]:
        return [m.value for m in cls]

    @classmethod
    def parse(cls, value: str) -> Self:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(cls.choices())
            raise ConfigError(
                f"unknown {cls.__doc__} {value!r}", f"use one of: {allowed}"
            ) from None


class FusionMode(Mode):
    """fusion mode"""

    RRF = "rrf"
    MINMAX = "minmax"
    DENSE = "dense"
    SPARSE = "sparse"


# Chosen on SciFact's 809 train queries (nDCG@10 0.7344 against RRF's 0.7168,
# README "Evaluation runs"); the test figure is reported, never tuned on.
DEFAULT_FUSION = FusionMode.MINMAX


class RerankerKind(Mode):
    """reranker"""

    NONE = "none"
    CROSS_ENCODER = "cross-encoder"
    LLM = "llm"


class GeneratorKind(Mode):
    """generator"""

    LOCAL = "local"
    OPENAI = "openai"
    EXTRACTIVE = "extractive"


class QueryTransformKind(Mode):
    """query transform"""

    NONE = "none"
    MULTI_QUERY = "multi-query"
    HYDE = "hyde"


class PdfParser(Mode):
    """PDF parser"""

    PDFIUM = "pdfium"
    PYPDF = "pypdf"
