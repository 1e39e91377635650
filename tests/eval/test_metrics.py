import math
import random

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


def test_metrics_equal_trec_eval_on_random_runs() -> None:
    """Parity with pytrec_eval (trec_eval's own code) on 200 random graded runs."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = random.Random(7)
    docs = [f"d{n}" for n in range(300)]
    qrels, runs = {}, {}
    for q in range(200):
        judged = rng.sample(docs, rng.randint(1, 12))
        qrels[f"q{q}"] = {d: rng.choice([1, 1, 2, 3]) for d in judged}
        ranking = rng.sample(docs, 150)
        # Distinct descending scores: trec_eval breaks ties by document id.
        runs[f"q{q}"] = {d: 1000.0 - rank for rank, d in enumerate(ranking)}
    measures = {"ndcg_cut.10", "recall.10", "recall.100"}
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(runs)
    top10 = {q: {d: s for d, s in run.items() if s > 990.0} for q, run in runs.items()}
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    for q, run in runs.items():
        ranking = sorted(run, key=lambda d: -run[d])
        relevant = {d: float(r) for d, r in qrels[q].items()}
        assert ndcg_at_k(ranking, relevant, 10) == pytest.approx(reference[q]["ndcg_cut_10"])
        assert recall_at_k(ranking, relevant, 10) == pytest.approx(reference[q]["recall_10"])
        assert recall_at_k(ranking, relevant, 100) == pytest.approx(reference[q]["recall_100"])
        assert mrr_at_k(ranking, relevant, 10) == pytest.approx(rr[q]["recip_rank"])
