import math

import pytest

from eval.metrics import mrr_at_k, ndcg_at_k, recall_at_k


def test_ndcg_by_hand() -> None:
    relevant = {"a": 1.0, "c": 2.0}
    dcg = 0 / math.log2(2) + 1 / math.log2(3) + 0 / math.log2(4)  # x, a, y
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(["x", "a", "y"], relevant, 3) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["c", "a"], relevant, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["x"], {}, 10) == 0.0


def test_duplicates_count_once_at_their_best_rank() -> None:
    assert ndcg_at_k(["a", "a", "c"], {"a": 1.0, "c": 1.0}, 2) == pytest.approx(
        ndcg_at_k(["a", "c"], {"a": 1.0, "c": 1.0}, 2)
    )


def test_recall_and_mrr() -> None:
    relevant = {"a": 1.0, "b": 1.0, "z": 0.0}
    assert recall_at_k(["x", "a", "y"], relevant, 2) == 0.5
    assert recall_at_k(["a", "b"], relevant, 100) == 1.0
    assert mrr_at_k(["x", "y", "b"], relevant, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["x", "y", "b"], relevant, 2) == 0.0
