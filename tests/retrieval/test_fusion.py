from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.errors import ConfigError
from rag.modes import FusionMode
from rag.retrieval.fusion import minmax_fusion, reciprocal_rank_fusion


def as_pairs(fused: list) -> list[tuple[str, float]]:  # type: ignore[type-arg]
    return [(f.key, round(f.score, 6)) for f in fused]


def test_rrf_by_hand() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]])
    assert as_pairs(fused) == [
        ("b", round(1 / 62 + 1 / 61, 6)),
        ("a", round(1 / 61, 6)),
        ("d", round(1 / 62, 6)),
        ("c", round(1 / 63, 6)),
    ]


def test_rrf_ties_break_on_best_rank_then_ranking_order() -> None:
    # a and x both score 1/61: a is rank 1 in ranking 0, x rank 1 in ranking 1.
    assert [f.key for f in reciprocal_rank_fusion([["a"], ["x"]])] == ["a", "x"]
    assert [f.key for f in reciprocal_rank_fusion([["x"], ["a"]])] == ["x", "a"]


def test_rrf_counts_a_duplicate_once_at_its_best_rank() -> None:
    fused = reciprocal_rank_fusion([["a", "a", "b"]])
    assert as_pairs(fused) == [("a", round(1 / 61, 6)), ("b", round(1 / 63, 6))]


def test_rrf_weights_and_k() -> None:
    fused = reciprocal_rank_fusion([["a"], ["b"]], k=0, weights=[1.0, 3.0])
    assert as_pairs(fused) == [("b", 3.0), ("a", 1.0)]
    with pytest.raises(ConfigError):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ConfigError):
        reciprocal_rank_fusion([["a"]], k=-1)


def test_rrf_empty_inputs() -> None:
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []
    assert [f.key for f in reciprocal_rank_fusion([[], ["z"]])] == ["z"]


def test_minmax_by_hand() -> None:
    fused = minmax_fusion([[("a", 10.0), ("b", 5.0), ("c", 0.0)], [("c", 0.9), ("a", 0.5)]])
    assert as_pairs(fused) == [("a", 1.0), ("c", 1.0), ("b", 0.5)]


def test_minmax_constant_scores_and_weights() -> None:
    fused = minmax_fusion([[("a", 3.0), ("b", 3.0)], [("b", 1.0)]], weights=[1.0, 0.5])
    assert as_pairs(fused) == [("b", 1.5), ("a", 1.0)]
    assert minmax_fusion([[], []]) == []


def test_unknown_mode_lists_the_allowed_ones() -> None:
    assert FusionMode.parse("rrf") is FusionMode.RRF
    with pytest.raises(ConfigError, match="rrf, minmax, dense, sparse"):
        FusionMode.parse("borda")


rankings = st.lists(
    st.lists(st.sampled_from("abcdefghij"), max_size=10, unique=True), min_size=1, max_size=4
)


@given(rankings)
def test_rrf_properties(lists: list[list[str]]) -> None:
    fused = reciprocal_rank_fusion(lists)
    keys = [f.key for f in fused]
    assert sorted(keys) == sorted({k for r in lists for k in r})
    scores = [f.score for f in fused]
    assert scores == sorted(scores, reverse=True)
    # A document ranked at or above another in every list is never fused below it.
    for a in keys:
        for b in keys:
            dominates = all(
                (a in r and (b not in r or r.index(a) < r.index(b))) or (a not in r and b not in r)
                for r in lists
            )
            if dominates and a != b:
                assert keys.index(a) < keys.index(b)


@given(rankings)
def test_single_ranking_order_is_preserved(lists: list[list[str]]) -> None:
    first = lists[0]
    assert [f.key for f in reciprocal_rank_fusion([first])] == first
    pairs = [(k, float(len(first) - i)) for i, k in enumerate(first)]
    assert [f.key for f in minmax_fusion([pairs])] == first
