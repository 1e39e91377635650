"""The writer streams entries through; what it writes equals what whole arrays give."""

from __future__ import annotations

import io
from pathlib import Path

import faiss
import numpy as np
import pytest

from ingest.writer import Entry, drained, write_generation
from rag.documents import Chunk, Document
from rag.index import dense, generations
from rag.index.bm25 import Analysed, BM25Index
from rag.index.dense import build_dense, build_dense_from_file
from rag.index.snapshot import EMBEDDINGS, open_current
from rag.index.store import ChunkRecord, DocumentRecord, FileRecord
from rag.index.terms import TermAnalyzer
from rag.index.vector_file import VectorWriter, batches
from rag.settings import DenseSettings, build_settings

WORDS = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "owl", "yak", "elk", "emu"]


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def entries(n_docs: int, dim: int) -> list[Entry]:
    rng = np.random.default_rng(3)
    vectors = unit_vectors(n_docs * 3, dim, seed=4)
    made = []
    for n in range(n_docs):
        texts = [" ".join(rng.choice(WORDS, rng.integers(1, 9))) for _ in range(3)]
        doc = Document(f"/d/{n}.txt", f"/d/{n}.txt", f"doc {n}", "\n".join(texts))
        rows, offset = [], 0
        for ordinal, text in enumerate(texts):
            chunk = Chunk(doc.doc_id, ordinal, text, offset, offset + len(text), 1)
            rows.append(ChunkRecord.of(chunk))
            offset += len(text) + 1
        made.append(Entry(DocumentRecord.of(doc), rows, vectors[3 * n : 3 * n + 3]))
    return made


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_vectors_written_as_they_come_are_np_save_of_the_whole(tmp_path: Path) -> None:
    whole = unit_vectors(1000, 16, seed=0)
    writer = VectorWriter(tmp_path / "v.npy", 16)
    for start in range(0, 1000, 333):
        writer.append(whole[start : start + 333])
    writer.close()
    assert (tmp_path / "v.npy").read_bytes() == npy_bytes(whole)
    read = np.concatenate([rows for _, rows in batches(tmp_path / "v.npy", 128)])
    np.testing.assert_array_equal(read, whole)


@pytest.mark.parametrize("kind", ["ivf-sq8", "hnsw", "flat"])
def test_faiss_from_the_file_in_batches_equals_faiss_from_the_array(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dense, "TRAINING_SAMPLE", 700)  # sampled, as beyond 100k vectors
    whole = unit_vectors(2000, 32, seed=1)
    np.save(tmp_path / "v.npy", whole)
    settings = DenseSettings(index_type=kind)
    from_file = build_dense_from_file(tmp_path / "v.npy", settings, batch=300)
    reference = build_dense(whole, settings)
    assert faiss.serialize_index(from_file).tobytes() == faiss.serialize_index(reference).tobytes()


def test_a_streamed_generation_equals_its_parts_built_whole(tmp_path: Path) -> None:
    index = tmp_path / "index"
    settings = build_settings(
        {"index_dir": index, "dense": {"index_type": "ivf-sq8"}}, use_env=False
    )
    made = entries(120, 24)
    ordered = sorted(made, key=lambda e: e.doc.source_key)
    files = [FileRecord(e.doc.source_path, 1, 1, "0" * 64) for e in ordered]
    number, folder = generations.start_partial(index)
    assert write_generation(folder, number, settings, files, drained(list(made)), 24, 254) == 360
    generations.publish(index, folder)

    stacked = np.concatenate([e.vectors for e in ordered])
    assert (folder.parent / "000001" / EMBEDDINGS).read_bytes() == npy_bytes(stacked)
    texts = [c.text for e in ordered for c in e.chunks]
    analyzer = TermAnalyzer(settings.tokenizer)
    analysed = Analysed.of(analyzer.terms(t) for t in texts)
    whole = BM25Index.from_term_ids(
        analysed.lengths, analysed.term_ids, analysed.vocab, settings.bm25
    )
    snapshot = open_current(index)
    try:
        rows = snapshot.store.chunks_at(list(range(360)))
        assert [r.text for r in rows] == texts and [r.pos for r in rows] == list(range(360))
        assert [d.source_key for d in snapshot.store.documents()] == [
            e.doc.source_key for e in ordered
        ]
        for word in WORDS:
            hits = snapshot.search.sparse([word], 50, None)
            expected = whole.search([word], 50)
            np.testing.assert_array_equal(hits.positions, expected.positions)
        reference = faiss.serialize_index(build_dense(stacked, settings.dense)).tobytes()
        assert (folder.parent / "000001" / "dense.faiss").read_bytes() == reference
    finally:
        snapshot.close()


def test_entries_out_of_order_are_refused(tmp_path: Path) -> None:
    settings = build_settings({"index_dir": tmp_path / "index"}, use_env=False)
    made = sorted(entries(3, 8), key=lambda e: e.doc.source_key, reverse=True)
    number, folder = generations.start_partial(tmp_path / "index")
    with pytest.raises(ValueError, match="out of order"):
        write_generation(folder, number, settings, [], iter(made), 8, 254)
