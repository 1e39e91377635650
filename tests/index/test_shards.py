"""A sharded generation answers exactly as one index over the same chunks:
BM25 weights from the whole corpus's statistics, each shard's top k merged."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.remove import remove_documents
from ingest.run import Options, run_ingest
from ingest.writer import Entry, drained, write_generation
from rag.documents import Chunk, Document
from rag.embedding import Embedder
from rag.errors import IndexCorruptError
from rag.index import generations
from rag.index.bm25 import Analysed, BM25Index, CorpusStats
from rag.index.shards import SHARDS, shard_bounds
from rag.index.snapshot import Snapshot, open_current
from rag.index.store import ChunkRecord, DocumentRecord, FileRecord
from rag.modes import FusionMode
from rag.retrieval.filters import Filters
from rag.retrieval.hybrid import HybridRetriever, Retrieved
from rag.settings import BM25Method, BM25Settings, RetrievalSettings, Settings, build_settings
from tests.conftest import ROOT
from tests.fakes import KeywordEmbedder

OKAPI = BM25Settings(method=BM25Method.OKAPI, k1=1.5, b=0.75, epsilon=0.25)
WORDS = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "owl", "yak", "elk", "emu"]
words = st.sampled_from(WORDS)
corpora = st.lists(st.lists(words, min_size=1, max_size=15), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(
    corpora,
    st.integers(2, 5),
    st.lists(words, min_size=1, max_size=4),
    st.sampled_from([BM25Settings(), OKAPI]),
)
def test_shard_weights_are_the_whole_index_weights(
    docs: list[list[str]], count: int, query: list[str], bm25: BM25Settings
) -> None:
    whole = BM25Index.build(docs, bm25)
    bounds = shard_bounds(len(docs), count)
    parts = [Analysed.of(docs[a:b]) for a, b in itertools.pairwise(bounds)]
    corpus = CorpusStats.merged(p.stats() for p in parts)
    assert corpus == Analysed.of(docs).stats()
    assert corpus.n_docs == len(docs) and corpus.total_length == sum(map(len, docs))
    for (a, b), part in zip(itertools.pairwise(bounds), parts, strict=True):
        shard = BM25Index.from_term_ids(part.lengths, part.term_ids, part.vocab, bm25, corpus)
        expected = whole.scores(query)[a:b]
        if bm25.method is BM25Method.LUCENE:
            np.testing.assert_array_equal(shard.scores(query), expected)
        else:  # the idf floor's mean over the vocabulary sums in another order
            np.testing.assert_allclose(shard.scores(query), expected, rtol=1e-6)


def test_shard_bounds_split_evenly() -> None:
    assert shard_bounds(10, 3) == [0, 3, 6, 10]
    assert shard_bounds(2, 3) == [0, 0, 1, 2]  # more shards than chunks: some are empty
    assert shard_bounds(7, 1) == [0, 7]


def _entries(chunk_words: list[list[str]], embedder: KeywordEmbedder) -> list[Entry]:
    """Documents of up to three chunks each, alternating two folders and two colours."""
    entries = []
    for n, first in enumerate(range(0, len(chunk_words), 3)):
        texts = [" ".join(w) for w in chunk_words[first : first + 3]]
        doc = Document(
            source_path=f"/data/{'ab'[n % 2]}/doc{n}.txt",
            source_key=f"/data/{'ab'[n % 2]}/doc{n}.txt",
            title=f"doc {n}",
            text="\n".join(texts),
            metadata={"colour": ("red", "blue")[n % 2]},
        )
        rows, offset = [], 0
        for ordinal, text in enumerate(texts):
            rows.append(
                ChunkRecord.of(Chunk(doc.doc_id, ordinal, text, offset, offset + len(text), 1))
            )
            offset += len(text) + 1
        entries.append(Entry(DocumentRecord.of(doc), rows, embedder.embed(texts)))
    return entries


def _publish(index: Path, entries: list[Entry], shards: int) -> Settings:
    settings = build_settings({"index_dir": index, "ingest": {"shards": shards}}, use_env=False)
    number, folder = generations.start_partial(index)
    files = [FileRecord(str(e.doc.source_path), 1, 1, "0" * 64) for e in entries]
    write_generation(
        folder, number, settings, files, drained(list(entries)), KeywordEmbedder.dimension, 254
    )
    generations.publish(index, folder)
    return settings


def _search(
    snapshot: Snapshot, embedder: Embedder, question: str, mode: FusionMode, filters: Filters
) -> list[Retrieved]:
    hybrid = HybridRetriever(snapshot, embedder, Settings().tokenizer, RetrievalSettings())
    return hybrid.search(question, 10, mode, filters).hits


def _filters(snapshot: Snapshot) -> list[Filters]:
    """No filter, and each kind of filter, drawn from the indexed documents."""
    docs = snapshot.store.documents()
    key, value = next(iter(docs[-1].metadata.items()))
    return [
        Filters(),
        Filters(doc_ids=tuple(d.doc_id for d in docs[::2])),
        Filters(exclude_doc_ids=(docs[0].doc_id,)),
        Filters(source_prefix=docs[-1].source_path[:-5]),
        Filters(metadata={key: value}),
    ]


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.lists(words, min_size=1, max_size=12), min_size=1, max_size=30),
    st.integers(2, 4),
    st.lists(st.lists(words, min_size=1, max_size=3), min_size=1, max_size=3),
)
def test_sharded_search_equals_one_index_fake_embedder(
    chunk_words: list[list[str]], count: int, questions: list[list[str]]
) -> None:
    embedder = KeywordEmbedder()
    entries = _entries(chunk_words, embedder)
    with tempfile.TemporaryDirectory() as tmp:
        _publish(Path(tmp) / "one", entries, 1)
        _publish(Path(tmp) / "many", entries, count)
        one, many = open_current(Path(tmp) / "one"), open_current(Path(tmp) / "many")
        try:
            assert len(many.shards) == count and len(one.shards) == 1
            for words_, mode, filters in itertools.product(questions, FusionMode, _filters(one)):
                question = " ".join(words_)
                expected = _search(one, embedder, question, mode, filters)
                assert _search(many, embedder, question, mode, filters) == expected
        finally:
            one.close()
            many.close()


@pytest.fixture(scope="module")
def guide_indexes(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> dict[int, Path]:
    """The demo user guide ingested with the real model, unsharded and in 3 shards."""
    root = tmp_path_factory.mktemp("guide-shards")
    made = {}
    for shards in (1, 3):
        index = root / f"shards-{shards}"
        settings = build_settings({"index_dir": index, "ingest": {"shards": shards}}, use_env=False)
        report = run_ingest(settings, Options([ROOT / "corpora/guide"]), lambda: real_embedder)
        # The guide's Markdown, and its PDF once `corpora/make_pdf.py` has run.
        assert report.added == _files(ROOT / "corpora/guide") and not report.failed
        made[shards] = index
    return made


GUIDE_QUESTIONS = [
    "What happens when an ingest is killed halfway?",
    "how are encrypted PDFs handled",
    "RRF constant",
    "which dense index type is used for large corpora",
    "hot swap of generations",
    "chunk overlap tokens",
]


def test_sharded_search_equals_one_index_real_model(
    guide_indexes: dict[int, Path], real_embedder: Embedder
) -> None:
    one, many = open_current(guide_indexes[1]), open_current(guide_indexes[3])
    try:
        assert many.manifest.shard_bounds == shard_bounds(one.store.counts()["chunks"], 3)
        assert many.manifest.data["counts"] == one.manifest.data["counts"]
        assert (many.folder / SHARDS / "002" / "dense.faiss").is_file()
        assert not (many.folder / "dense.faiss").exists() and "shards" not in one.manifest.data
        np.testing.assert_array_equal(many.embeddings, one.embeddings)
        compared = 0
        for question, mode, filters in itertools.product(
            GUIDE_QUESTIONS, FusionMode, _filters(one)
        ):
            expected = _search(one, real_embedder, question, mode, filters)
            assert _search(many, real_embedder, question, mode, filters) == expected, question
            compared += len(expected)
        assert compared > 500  # the comparisons were not of empty results
    finally:
        one.close()
        many.close()


def test_removal_keeps_the_shard_count(tmp_path: Path) -> None:
    embedder = KeywordEmbedder()
    entries = _entries(
        [["ant", "bee"], ["cat"], ["dog", "eel"], ["fox"], ["gnu"], ["hen"]], embedder
    )
    settings = _publish(tmp_path / "index", entries, 2)
    removed = remove_documents(settings.with_changes(ingest={"shards": 1}), [entries[0].doc.doc_id])
    assert removed == [entries[0].doc.doc_id]
    snapshot = open_current(tmp_path / "index")
    try:
        assert snapshot.manifest.shard_bounds == [0, 1, 3]
        hits = _search(snapshot, embedder, "gnu hen", FusionMode.SPARSE, Filters())
        assert {h.position for h in hits} == {1, 2}
    finally:
        snapshot.close()


def test_a_damaged_shard_is_named(tmp_path: Path) -> None:
    embedder = KeywordEmbedder()
    entries = _entries([["ant", "bee"], ["cat"], ["dog", "eel"], ["fox"]], embedder)
    _publish(tmp_path / "index", entries, 2)
    damaged = generations.current_generation(tmp_path / "index") / SHARDS / "001" / "dense.faiss"
    damaged.write_bytes(damaged.read_bytes()[:40])
    with pytest.raises(IndexCorruptError, match=str(damaged)):
        open_current(tmp_path / "index")


def _files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file())
