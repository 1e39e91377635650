from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from rag.index.bm25 import Analysed, BM25Index
from rag.index.bm25_build import PostingsBuilder
from rag.index.bm25_scoring import idf_lucene, tf_saturation
from rag.index.terms import TermAnalyzer
from rag.settings import BM25Method, BM25Settings, TokenizerSettings
from tests.conftest import DATASETS, need

OKAPI = BM25Settings(method=BM25Method.OKAPI, k1=1.5, b=0.75, epsilon=0.25)

terms = st.sampled_from(["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "owl", "yak"])
corpora = st.lists(st.lists(terms, min_size=1, max_size=15), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(corpora, st.lists(terms, min_size=1, max_size=4))
def test_okapi_scores_equal_rank_bm25(docs: list[list[str]], query: list[str]) -> None:
    reference = BM25Okapi(docs, k1=1.5, b=0.75, epsilon=0.25).get_scores(query)
    ours = BM25Index.build(docs, OKAPI).scores(query)
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-5)


def test_lucene_score_by_hand() -> None:
    docs = [["cat", "dog"], ["cat", "cat", "eel"], ["fox"]]
    index = BM25Index.build(docs, BM25Settings(k1=0.9, b=0.4))
    avgdl = 2.0
    idf_cat = np.log1p((3 - 2 + 0.5) / (2 + 0.5))
    tf_factor = 2 * 1.9 / (2 + 0.9 * (1 - 0.4 + 0.4 * 3 / avgdl))
    assert index.scores(["cat"])[1] == pytest.approx(idf_cat * tf_factor, rel=1e-6)
    assert index.scores(["fox"])[0] == 0.0


def test_pure_functions_agree_with_the_formula() -> None:
    assert idf_lucene(np.array([1.0]), 10)[0] == pytest.approx(np.log(1 + 9.5 / 1.5))
    sat = tf_saturation(np.array([3.0]), np.array([10.0]), 5.0, 1.2, 0.75)
    assert sat[0] == pytest.approx(3 * 2.2 / (3 + 1.2 * (0.25 + 0.75 * 2)))


def test_search_returns_only_matches_best_first_ties_by_position() -> None:
    docs = [["a", "b"], ["c"], ["a", "b"], ["a"], ["z"]]
    hits = BM25Index.build(docs, BM25Settings()).search(["a", "b"], k=10)
    assert hits.positions.tolist() == [0, 2, 3]
    assert list(hits.scores) == sorted(hits.scores, reverse=True)
    assert BM25Index.build(docs, BM25Settings()).search(["a", "b"], k=1).positions.tolist() == [0]
    assert BM25Index.build(docs, BM25Settings()).search(["nothing"], k=5).positions.size == 0


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    docs = [["alpha", "beta"], ["beta", "gamma", "gamma"], ["delta"]]
    index = BM25Index.build(docs, BM25Settings())
    index.save(tmp_path / "bm25")
    assert not list((tmp_path / "bm25").glob("*.pkl"))
    loaded = BM25Index.load(tmp_path / "bm25")
    np.testing.assert_array_equal(loaded.scores(["gamma", "beta"]), index.scores(["gamma", "beta"]))


def test_analyzer_stems_lowercases_and_drops_stopwords() -> None:
    analyzer = TermAnalyzer(TokenizerSettings())
    assert analyzer.terms("The Running of the Bulls in Pamplona") == ["run", "bull", "pamplona"]
    assert analyzer.terms("Ünïcödé wörds") == ["ünïcödé", "wörd"]


def test_rankings_equal_rank_bm25_on_scifact() -> None:
    """Same tokenisation, same parameters: the same top 10 on real abstracts."""
    corpus = need(DATASETS / "beir-scifact/corpus.jsonl")
    analyzer = TermAnalyzer(TokenizerSettings())
    with corpus.open(encoding="utf-8") as handle:
        records = [json.loads(line) for _, line in zip(range(1500), handle, strict=False)]
    docs = [analyzer.terms(f"{r['title']} {r['text']}") for r in records]
    reference = BM25Okapi(docs, k1=1.5, b=0.75, epsilon=0.25)
    ours = BM25Index.build(docs, OKAPI)
    for record in records[::150]:
        query = analyzer.terms(record["title"])
        expected = np.argsort(-reference.get_scores(query), kind="stable")[:10]
        got = ours.search(query, 10).positions
        np.testing.assert_array_equal(got, expected)


def exhaustive_top(index: BM25Index, query: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    every = index.scores(query)
    matched = np.flatnonzero(every > 0)
    order = np.lexsort((matched, -every[matched]))[:k]
    return matched[order], every[matched[order]]


@settings(max_examples=300, deadline=None)
@given(corpora, st.lists(terms, min_size=1, max_size=6), st.integers(1, 40))
def test_maxscore_top_k_equals_exhaustive_ranking(
    docs: list[list[str]], query: list[str], k: int
) -> None:
    """Pruned search returns exactly the exhaustive top k, ties broken by position."""
    index = BM25Index.build(docs, BM25Settings())
    positions, scores = exhaustive_top(index, query, k)
    with patch("rag.index.bm25.EXHAUSTIVE_UP_TO", 0):  # prune even tiny postings
        hits = index.search(query, k)
    np.testing.assert_array_equal(hits.positions, positions)
    np.testing.assert_allclose(hits.scores, scores, rtol=1e-5)


def test_maxscore_on_zipfian_text_equals_exhaustive_ranking() -> None:
    from bench.synthetic import zipf_corpus, zipf_queries

    corpus = zipf_corpus(20_000, seed=3)
    index = BM25Index.from_term_ids(corpus.lengths, corpus.term_ids, corpus.vocab, BM25Settings())
    queries = zipf_queries(corpus, 100, seed=4)
    queries += [[q[0], q[0], *q[1:3]] for q in queries[:20]]  # repeated query terms
    for query in queries:
        for k in (1, 10, 100):
            positions, scores = exhaustive_top(index, query, k)
            with patch("rag.index.bm25.EXHAUSTIVE_UP_TO", 0):
                hits = index.search(query, k)
            np.testing.assert_array_equal(hits.positions, positions)
            np.testing.assert_allclose(hits.scores, scores, rtol=1e-5)


def test_compiled_maxscore_equals_its_numpy_reference() -> None:
    """The numba MaxScore makes the numpy one's decisions in the same order: the
    same candidates (or the same refusal past the budget), the same scores."""
    from bench.synthetic import zipf_corpus, zipf_queries
    from rag.index import bm25_compiled, bm25_maxscore

    corpus = zipf_corpus(20_000, seed=5)
    index = BM25Index.from_term_ids(corpus.lengths, corpus.term_ids, corpus.vocab, BM25Settings())
    arrays = (index._term_ptr, index._postings, index._weights, index._term_max)
    queries = zipf_queries(corpus, 60, seed=6)
    queries += [[q[0], q[0], *q[1:3]] for q in queries[:10]]
    refused = 0
    for query in queries:
        rows = [index._row[t] for t in query if t in index._row]
        for k, budget in ((1, 10**9), (10, 10**9), (100, 10**9), (10, 3_000)):
            compiled = bm25_compiled.maxscore_top_k(rows, k, *arrays, budget=budget)
            reference = bm25_maxscore.maxscore_top_k(rows, k, *arrays, budget=budget)
            if reference is None or compiled is None:
                assert reference is None and compiled is None
                refused += 1
                continue
            order, expected = np.argsort(compiled[0]), np.argsort(reference[0])
            np.testing.assert_array_equal(compiled[0][order], reference[0][expected])
            np.testing.assert_array_equal(compiled[1][order], reference[1][expected])
    assert 0 < refused < len(queries) * 4


@settings(max_examples=200, deadline=None)
@given(corpora, st.lists(terms, min_size=1, max_size=6), st.integers(1, 40))
def test_compiled_exhaustive_scores_equal_numpy_scoring(
    docs: list[list[str]], query: list[str], k: int
) -> None:
    """Every posting scored in the compiled loop: numpy's scores bit for bit,
    and the same top k (ties by position)."""
    from rag.index import bm25_compiled

    index = BM25Index.build(docs, BM25Settings())
    rows = [index._row[t] for t in query if t in index._row]
    arrays = (index._term_ptr, index._postings, index._weights, index._term_max)
    everything = 10**9  # postings up to which every one is scored: all of them
    found, scores = bm25_compiled.top_k(rows, k, *arrays, index.n_docs, 0, everything)
    np.testing.assert_array_equal(scores, index.scores(query)[found])
    positions, expected = exhaustive_top(index, query, k)
    assert set(positions) <= set(found.tolist())
    hits = index.search(query, k)
    np.testing.assert_array_equal(hits.positions, positions)
    np.testing.assert_array_equal(hits.scores, expected)


def test_from_term_ids_equals_build_from_strings() -> None:
    docs = [["cat", "dog", "cat"], ["eel"], ["dog", "fox", "ant"]]
    vocab = ["dog", "cat", "eel", "fox", "ant"]
    ids = np.array([1, 0, 1, 2, 0, 3, 4], dtype=np.int32)
    lengths = np.array([3, 1, 3], dtype=np.int64)
    built = BM25Index.build(docs, BM25Settings())
    from_ids = BM25Index.from_term_ids(lengths, ids, vocab, BM25Settings())
    assert built.vocab == from_ids.vocab == sorted(vocab)
    for term in vocab:
        np.testing.assert_array_equal(built.scores([term]), from_ids.scores([term]))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(terms, min_size=0, max_size=15), min_size=0, max_size=40),
    st.integers(1, 7),
    st.sampled_from([BM25Settings(), OKAPI]),
)
def test_block_wise_postings_equal_the_whole_corpus_at_once(
    docs: list[list[str]], block: int, bm25: BM25Settings
) -> None:
    """Array for array, byte for byte: blocks of `block` documents against
    every (term, document) key sorted at once."""
    builder = PostingsBuilder(bm25, block=block)
    for doc in docs:
        builder.add(doc)
    ours = builder.build()
    analysed = Analysed.of(docs)
    whole = BM25Index.from_term_ids(analysed.lengths, analysed.term_ids, analysed.vocab, bm25)
    assert ours.vocab == whole.vocab and ours.n_docs == whole.n_docs == len(docs)
    for mine, theirs in [
        (ours.term_ptr, whole._term_ptr),
        (ours.postings, whole._postings),
        (ours.weights, whole._weights),
    ]:
        assert mine.dtype == theirs.dtype and mine.tobytes() == theirs.tobytes()
