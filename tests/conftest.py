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


@pytest.fixture(scope="session")
def scifact_index(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: SentenceTransformerEmbedder
) -> Path:
    """SciFact's 5,183 abstracts ingested with the real model (about 10 minutes here)."""
    from ingest.run import Options, run_ingest
    from rag.settings import build_settings

    corpus = need(DATASETS / "beir-scifact/corpus.jsonl")
    index = tmp_path_factory.mktemp("scifact") / "index"
    settings = build_settings({"index_dir": index}, use_env=False)
    report = run_ingest(settings, Options([corpus]), lambda: real_embedder)
    assert report.added == 5183 and not report.failed
    return index
