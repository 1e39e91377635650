"""The ONNX embedders against the sentence-transformers reference, on real text."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import Embedder, make_embedder
from rag.embedding.onnx_export import INFO, exported_model
from rag.settings import EmbeddingBackend, EmbeddingSettings
from tests.conftest import DATASETS

SENTENCES = [
    "Ocean tides are caused mainly by the gravitational pull of the Moon.",
    "The Golden Gate Bridge opened in 1937.",
    "",
    "héllo wörld, 東京 🙂 — naïve café",
    "word " * 400,  # longer than the model's window: truncated like the reference
]


def scifact_texts(n: int) -> list[str]:
    path = DATASETS / "beir-scifact" / "corpus.jsonl"
    if not path.exists():
        return SENTENCES
    with path.open(encoding="utf-8") as handle:
        return [f"{r['title']} {r['text']}" for r in map(json.loads, islice(handle, n))]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return make_embedder(EmbeddingSettings(backend=EmbeddingBackend.TORCH))


@pytest.mark.parametrize(
    ("backend", "floor"), [(EmbeddingBackend.ONNX, 0.9999), (EmbeddingBackend.ONNX_INT8, 0.95)]
)
def test_onnx_vectors_match_the_torch_reference(
    torch_embedder: Embedder, backend: EmbeddingBackend, floor: float
) -> None:
    texts = scifact_texts(48) + SENTENCES
    onnx = make_embedder(EmbeddingSettings(backend=backend))
    reference, ours = torch_embedder.embed(texts), onnx.embed(texts)
    assert ours.shape == reference.shape and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= floor, cosine.min()
    assert cosine[:48].mean() >= 1 - (1 - floor) / 5  # passages: 0.99 and up for int8
    assert (onnx.dimension, onnx.max_tokens) == (
        torch_embedder.dimension,
        torch_embedder.max_tokens,
    )


def test_token_offsets_equal_the_reference_so_chunks_are_the_same(
    torch_embedder: Embedder, real_embedder: Embedder
) -> None:
    for text in scifact_texts(100) + SENTENCES:
        assert real_embedder.token_offsets(text) == torch_embedder.token_offsets(text)


def test_batches_and_order_do_not_change_vectors(real_embedder: Embedder) -> None:
    texts = scifact_texts(40)
    whole = real_embedder.embed(texts)
    one_by_one = np.stack([real_embedder.embed([t])[0] for t in texts[:5]])
    np.testing.assert_array_equal(one_by_one, whole[:5])  # a text's vector is its own
    assert real_embedder.embed([]).shape == (0, real_embedder.dimension)


def test_export_is_made_once_and_reused(tmp_path: Path) -> None:
    settings = EmbeddingSettings(cache_dir=tmp_path)
    folder = exported_model(settings)
    made = (folder / INFO).stat().st_mtime_ns
    assert exported_model(settings) == folder
    assert (folder / INFO).stat().st_mtime_ns == made
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".export-")]
    assert json.loads((folder / INFO).read_text())["pooling"] == "mean"


def test_a_damaged_export_is_reported_with_the_folder_to_delete(tmp_path: Path) -> None:
    from rag.embedding.onnx_export import INT8
    from rag.errors import ConfigError

    settings = EmbeddingSettings(cache_dir=tmp_path)
    folder = exported_model(settings)
    (folder / INT8).write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="export it again"):
        make_embedder(settings)
