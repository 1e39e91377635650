from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.embedding import Embedder, make_embedder
from rag.llm.model_file import packaged_model_path
from rag.settings import EmbeddingSettings
from tests.service_helpers import free_port

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
def real_embedder() -> Iterator[Embedder]:
    yield make_embedder(EmbeddingSettings())


@pytest.fixture(scope="session")
def scifact_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """SciFact's 5,183 abstracts ingested with the real model (about 10 minutes here)."""
    from ingest.run import Options, run_ingest
    from rag.settings import build_settings

    corpus = need(DATASETS / "beir-scifact/corpus.jsonl")
    reuse = os.environ.get("RAG_TEST_SCIFACT_INDEX")  # a local shortcut; CI builds it
    if reuse:
        return Path(reuse)
    index = tmp_path_factory.mktemp("scifact") / "index"
    settings = build_settings({"index_dir": index}, use_env=False)
    report = run_ingest(settings, Options([corpus]), lambda: real_embedder)
    assert report.added == 5183 and not report.failed
    return index


FACTS = {
    "volcanoes.md": "# Volcanoes\n\nMagma rises through the crust and erupts as lava. "
    "Basalt forms when lava cools quickly.\n",
    "bees.txt": "Honey bees communicate the direction of flowers with a waggle dance. "
    "A colony has one queen.\n",
    "tides.txt": "Ocean tides are caused mainly by the gravitational pull of the Moon. "
    "Spring tides happen at new and full moon.\n",
    "bread.md": "# Baking\n\nYeast ferments sugars and releases carbon dioxide, "
    "which makes bread dough rise.\n",
    "chess.txt": "In chess, castling moves the king two squares towards a rook. "
    "The rook jumps over the king.\n",
}


def write_facts(folder: Path) -> Path:
    from tests.pdfs import text_pdf

    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FACTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    text_pdf(
        folder / "glaciers.pdf",
        [
            "Glaciers carve U-shaped valleys as they move slowly downhill.",
            "Moraines are ridges of rock debris left behind by a retreating glacier.",
        ],
        title="Glaciers",
    )
    return folder


@pytest.fixture(scope="session")
def facts_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """Six small documents (Markdown, text, a two-page PDF), real model, real index."""
    from ingest.run import Options, run_ingest
    from rag.settings import build_settings

    root = tmp_path_factory.mktemp("facts")
    corpus = write_facts(root / "corpus")
    settings = build_settings({"index_dir": root / "index"}, use_env=False)
    report = run_ingest(settings, Options([corpus]), lambda: real_embedder)
    assert report.added == 6 and not report.failed
    return root / "index"


@pytest.fixture(scope="session")
def openai_server() -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server with the packaged model, on loopback."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(packaged_model_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
    ]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        try:
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)
