from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.embedding import SentenceTransformerEmbedder
from rag.settings import EmbeddingSettings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PDFS = SHARED / "pdfs"
DATASETS = SHARED / "datasets"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (public data kept beside the project, see README)")
    return path


@pytest.fixture(scope="session")
def real_embedder() -> Iterator[SentenceTransformerEmbedder]:
    yield SentenceTransformerEmbedder(EmbeddingSettings())
