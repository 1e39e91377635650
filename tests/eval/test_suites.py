"""Each `rag eval` suite end to end through the CLI, on slices of the real datasets."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from rag.cli.main import main
from tests.conftest import DATASETS, need

pytestmark = pytest.mark.slow
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Settings with the benchmark-index cache in a temporary folder."""
    folder = tmp_path_factory.mktemp("eval")
    path = folder / "rag.toml"
    path.write_text(f'[eval]\ncache_dir = "{folder / "cache"}"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def squad_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SQuAD dev's first two articles (103 paragraphs), in the official format."""
    data = json.loads(need(DATASETS / "squad-v1.1-dev/dev-v1.1.json").read_text(encoding="utf-8"))
    data["data"] = data["data"][:2]
    path = tmp_path_factory.mktemp("squad") / "dev-slice.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def results(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return data


def eval_cli(*args: str | Path) -> int:
    return main(["eval", *(str(a) for a in args), "--no-progress"])


def test_retrieval_suite_resumes_and_compares(
    scifact_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = DATASETS / "beir-scifact"
    run_a, run_b = tmp_path / "a", tmp_path / "b"
    common = ("--dataset", dataset, "--index", scifact_index)
    assert eval_cli("retrieval", *common, "--limit", 10, "--out", run_a) == 0
    first = results(run_a)
    assert set(first["summary"]["modes"]) == {"rrf", "minmax", "dense", "sparse"}
    assert all(m["n"] == 10 for m in first["summary"]["modes"].values())
    assert first["config"]["dataset_sha256"]["corpus.jsonl"].startswith("dec31c8182f3")
    assert any(r["method"].startswith("BM25 flat") for r in first["summary"]["published"])
    for png in ("ndcg_by_mode.png", "latency.png"):
        assert (run_a / png).read_bytes().startswith(PNG)
    assert "| rrf |" in (run_a / "summary.md").read_text(encoding="utf-8")

    # Resuming with a larger limit scores only the new queries.
    assert eval_cli("retrieval", *common, "--limit", 15, "--out", run_a, "--resume") == 0
    resumed = results(run_a)
    assert len(resumed["items"]) == 60
    before = {i["key"]: i["ndcg@10"] for i in first["items"]}
    assert {i["key"]: i["ndcg@10"] for i in resumed["items"] if i["key"] in before} == before
    lines = (run_a / "items.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 60  # nothing scored twice

    other = tmp_path / "other.toml"
    other.write_text("[retrieval]\nrrf_k = 5\n", encoding="utf-8")
    assert (
        eval_cli("retrieval", *common, "--limit", 15, "--out", run_a, "--resume", "--config", other)
        == 2
    )
    assert "settings.retrieval.rrf_k" in capsys.readouterr().err
    assert eval_cli("retrieval", *common, "--limit", 15, "--out", run_b, "--config", other) == 0
    capsys.readouterr()
    assert main(["eval", "compare", str(run_a), str(run_b), "--metric", "ndcg@10"]) == 0
    table = capsys.readouterr().out
    assert "60 items scored in both" in table
    # Only RRF depends on rrf_k: the other modes are identical, so never "better".
    rows = [r for r in table.splitlines() if r.startswith("| ")]
    assert len(rows) == 5
    for row in rows[1:]:
        if not row.startswith("| rrf"):
            assert "| 0.0000 |" in row and "no significant difference" in row


def test_answers_suite_with_the_local_model_and_a_validated_judge(
    squad_slice: Path, config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "answers"
    claims = need(DATASETS / "scifact-claims")
    code = eval_cli(
        "answers",
        "--dataset",
        squad_slice,
        "--config",
        config,
        "--limit",
        1,
        "--claims",
        claims,
        "--judge-limit",
        3,
        "--out",
        out,
    )
    assert code == 0
    run = results(out)
    questions = [i for i in run["items"] if i["kind"] == "question"]
    judged = [i for i in run["items"] if i["kind"] == "judge"]
    assert len(questions) == 1 and len(judged) == 3
    assert {i["group"] for i in judged} == {"SUPPORT", "CONTRADICT", "NEI"}
    for item in questions:
        assert item["generator"] == "local" or item["fallback_reason"]
        assert 0.0 <= item["f1"] <= 1.0 and item["contains"] in (0.0, 1.0)
        assert 0.0 <= item["ragas_id_based_context_recall"] <= 1.0
        assert item["gold_retrieved"] == item["ragas_id_based_context_recall"]
        if not item["refused"]:
            assert item["faithfulness"] is not None and item["citation_precision"] is not None
    summary = run["summary"]
    validation = summary["judge_validation"]
    assert validation["n"] == 3 and validation["scorers"]["llm"]["roc_auc"] is not None
    assert summary["n"] == 1 and summary["latency_ms"]["p50"] > 0
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert "validated on 3 SciFact claim pairs" in text
    assert "ragas' LLM metrics did not run" in text
    assert (out / "latency.png").read_bytes().startswith(PNG)


def test_answers_suite_on_multi_hop_questions_without_a_judge(config: Path, tmp_path: Path) -> None:
    data = json.loads(
        need(DATASETS / "hotpotqa-dev-100/hotpot_dev_distractor_v1.json").read_text(
            encoding="utf-8"
        )
    )
    dataset = tmp_path / "hotpot-slice.json"
    dataset.write_text(json.dumps(data[:6]), encoding="utf-8")
    out = tmp_path / "hotpot"
    code = eval_cli(
        "answers",
        "--dataset",
        dataset,
        "--config",
        config,
        "--limit",
        3,
        "--judge-limit",
        0,
        "--generator",
        "extractive",
        "--out",
        out,
    )
    assert code == 0
    run = results(out)
    assert run["summary"]["answered_only"]["faithfulness"] is None
    assert "Faithfulness is not reported" in (out / "summary.md").read_text(encoding="utf-8")
    for item in run["items"]:
        # Two gold paragraphs per question: retrieval finds 0, 1 or 2 of them.
        assert item["gold_retrieved"] in (0.0, 0.5, 1.0)
        assert item["citation_recall"] is None or 0.0 <= item["citation_recall"] <= 1.0


def test_refusal_suite_removes_the_gold_passage_and_draws_the_curve(
    squad_slice: Path, config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "refusal"
    code = eval_cli(
        "refusal",
        "--dataset",
        squad_slice,
        "--config",
        config,
        "--limit",
        3,
        "--generator",
        "extractive",
        "--out",
        out,
    )
    assert code == 0
    run = results(out)
    gold = {i["id"]: i for i in run["items"] if i["group"] == "answerable"}
    removed = [i for i in run["items"] if i["group"] == "removed"]
    assert len(gold) == 3 and len(removed) == 3
    from eval.qa_data import load_qa_dataset

    golds = {q.id: q.gold_ids for q in load_qa_dataset(squad_slice).items}
    for item in removed:
        assert not set(golds[item["id"]]) & set(item["retrieved"])
        assert item["gate"] <= gold[item["id"]]["gate"] + 1e-6
    curve = run["summary"]["curve"]
    answerable_refused = sum(i["refused_after_gate"] for i in gold.values()) / 3
    assert curve[0]["threshold"] == 0.0 and curve[0]["false_refusal"] == answerable_refused
    for low, high in itertools.pairwise(curve):
        assert low["false_refusal"] <= high["false_refusal"]
        assert low["refusal_when_removed"] <= high["refusal_when_removed"]
    assert run["summary"]["at_min_relevance"]["threshold"] == 0.35
    # The slice's index, built by the answers test, was reused, not built again.
    assert len(list((config.parent / "cache").glob("squad-*/index"))) == 1
    assert (out / "refusal_tradeoff.png").read_bytes().startswith(PNG)


def test_judge_suite_reports_accuracy_and_auc(tmp_path: Path) -> None:
    out = tmp_path / "judge"
    claims = need(DATASETS / "scifact-claims")
    assert eval_cli("judge", "--dataset", claims, "--limit", 6, "--out", out) == 0
    summary = results(out)["summary"]
    assert summary["n"] == 6
    for scorer in ("pipeline", "llm"):
        numbers = summary["scorers"][scorer]
        assert 0.0 <= numbers["accuracy"] <= 1.0 and 0.0 <= numbers["roc_auc"] <= 1.0
        assert (out / f"roc_{scorer}.png").read_bytes().startswith(PNG)


def test_ragas_llm_metrics_against_an_openai_compatible_judge(openai_server: str) -> None:
    """ragas Faithfulness, answer relevancy and context precision, judged by the
    packaged model behind llama.cpp's server on loopback (about 2 minutes here)."""
    from eval.ragas_metrics import LLMScorer, Sample
    from rag.embedding import make_embedder
    from rag.settings import EmbeddingSettings, EvalSettings

    scorer = LLMScorer(
        EvalSettings(judge_base_url=openai_server),
        make_embedder(EmbeddingSettings()),
    )
    passage = (
        "Ocean tides are caused mainly by the gravitational pull of the Moon. "
        "Spring tides happen at new and full moon."
    )
    sample = Sample(
        question="What causes ocean tides?",
        response="Ocean tides are caused mainly by the gravitational pull of the Moon [1].",
        reference="the gravitational pull of the Moon",
        retrieved_ids=["tides"],
        gold_ids=["tides"],
        retrieved_texts=[passage],
        facts=["Ocean tides are caused mainly by the gravitational pull of the Moon."],
    )
    scores = scorer.score(sample)
    assert not [k for k in scores if k.endswith("_error")], scores
    # Measured here: 1.0 for each of the three on this answer.
    assert scores["ragas_faithfulness"] >= 0.5
    assert scores["ragas_context_precision"] >= 0.5
    # A cosine: 1.0000000000000002 has been seen for an identical question.
    assert -1e-9 <= float(scores["ragas_answer_relevancy"]) <= 1.0 + 1e-9
