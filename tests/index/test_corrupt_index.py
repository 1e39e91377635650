"""Damaged generations: a truncated FAISS file, an SQLite store with a page of
garbage, a manifest from another model or of another dimension.

Each is refused when the service starts (`rag serve` exits naming the file),
when a running service is asked to swap to it (the reload answer and the log
name the file, and the last good generation keeps serving identical results),
and by `rag search` (exit code 3, naming the file).
"""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ingest.run import Options, run_ingest
from rag.embedding import Embedder
from rag.errors import IndexStateError
from rag.index.generations import GENERATIONS, PARTIAL, current_generation, publish
from rag.service.holder import check_startable
from rag.settings import Settings, build_settings
from tests.conftest import write_facts
from tests.ingest.test_cli import ENV, RAG
from tests.service_helpers import free_port, running_service

pytestmark = pytest.mark.slow

QUESTIONS = ("which animal does a waggle dance", "what pulls the ocean tides")


def truncate_faiss(generation: Path) -> Path:
    path = generation / "dense.faiss"
    path.write_bytes(path.read_bytes()[:100])
    return path


def damage_store_page(generation: Path) -> Path:
    """Overwrite one page in the middle of the file (past the header) with noise."""
    path = generation / "store.sqlite"
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")  # the page size, from the SQLite header
    middle = len(data) // page // 2
    data[middle * page : (middle + 1) * page] = random.Random(7).randbytes(page)
    path.write_bytes(bytes(data))
    return path


def _edit_manifest(generation: Path, **embedding: object) -> Path:
    path = generation / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["embedding"].update(embedding)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


def other_model(generation: Path) -> Path:
    """Same dimension (384), another model: vectors that mean something else."""
    return _edit_manifest(generation, model="BAAI/bge-small-en-v1.5")


def other_dimension(generation: Path) -> Path:
    return _edit_manifest(generation, model="BAAI/bge-base-en-v1.5", dimension=768)


CORRUPTIONS: dict[str, Callable[[Path], Path]] = {
    "truncated dense.faiss": truncate_faiss,
    "damaged store page": damage_store_page,
    "manifest of another model": other_model,
    "manifest of another dimension": other_dimension,
}


def settings_for(index: Path) -> Settings:
    return build_settings({"index_dir": index, "service": {"reload_interval_s": 0}}, use_env=False)


def publish_copy(index: Path, good: Path) -> Path:
    """A copy of the good generation, made live by the real switch (CURRENT)."""
    number = max(int(p.name) for p in (index / GENERATIONS).iterdir()) + 1
    partial = index / GENERATIONS / f"{number:06d}{PARTIAL}"
    shutil.copytree(good, partial)
    return publish(index, partial)


def results(client: httpx.Client) -> list[list[tuple[str, float]]]:
    found = []
    for question in QUESTIONS:
        response = client.post("/v1/search", json={"question": question, "top_k": 5})
        assert response.status_code == 200, response.text
        found.append([(r["chunk_id"], r["score"]) for r in response.json()["results"]])
    return found


def rag(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAG, *args], capture_output=True, text=True, env=ENV, timeout=120, check=False
    )


@pytest.fixture
def two_generations(tmp_path: Path, real_embedder: Embedder) -> tuple[Path, Path, Path]:
    """An index whose live generation 1 is good, and a good generation 2 beside it
    (with one more document) to copy and damage; CURRENT names 1."""
    corpus = write_facts(tmp_path / "corpus")
    index = tmp_path / "index"
    run_ingest(settings_for(index), Options([corpus]), lambda: real_embedder)
    first = current_generation(index)
    (corpus / "owls.txt").write_text("Owls hunt at night and swallow prey whole.\n")
    run_ingest(settings_for(index), Options([corpus]), lambda: real_embedder)
    second = current_generation(index)
    (index / "CURRENT").write_text(f"{first.name}\n", encoding="utf-8")
    return index, first, second


def test_swap_to_a_damaged_generation_is_refused_naming_the_file(
    two_generations: tuple[Path, Path, Path],
    real_embedder: Embedder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    index, _, good = two_generations
    caplog.set_level(logging.ERROR, logger="rag.service")
    with running_service(settings_for(index), real_embedder) as client:
        before = results(client)
        for name, damage in CORRUPTIONS.items():
            damaged = damage(publish_copy(index, good))
            refused = client.post("/v1/admin/reload")
            assert refused.status_code == 409, (name, refused.text)
            assert str(damaged) in refused.json()["error"], (name, refused.text)
            assert str(damaged) in caplog.text, name
            assert results(client) == before, name
            assert client.get("/readyz").json()["generation"] == 1
        publish_copy(index, good)  # undamaged, at last
        swapped = client.post("/v1/admin/reload").json()
        assert swapped["swapped"] and swapped["generation"] == 2  # the copy's manifest says 2
        owls = client.post("/v1/search", json={"question": "which bird hunts at night"})
        assert owls.json()["results"][0]["source"].endswith("owls.txt")


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_start_and_search_on_a_damaged_generation_fail_naming_the_file(
    name: str, two_generations: tuple[Path, Path, Path], real_embedder: Embedder
) -> None:
    index, _, good = two_generations
    damaged = CORRUPTIONS[name](publish_copy(index, good))
    with pytest.raises(IndexStateError, match=re.escape(str(damaged))):
        check_startable(settings_for(index))
    with running_service(settings_for(index), real_embedder) as client:  # started in-process
        ready = client.get("/readyz")
        assert ready.status_code == 503 and str(damaged) in ready.json()["reason"]
    search = rag("search", "tides", "--index", str(index))
    assert search.returncode == 3 and str(damaged) in search.stderr, search.stderr
    assert "Traceback" not in search.stderr
    if name == "truncated dense.faiss":  # one real `rag serve` is enough: same check
        serve = rag("serve", "--index", str(index), "--port", str(free_port()))
        assert serve.returncode == 3 and str(damaged) in serve.stderr, serve.stderr
        assert "Traceback" not in serve.stderr
