"""`rag tune`: synthetic questions, fusion weights chosen on them, the record
beside the index, and every reader of the index using it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from rag.cli.main import main
from rag.embedding import Embedder
from rag.errors import ConfigError
from rag.index.generations import current_generation
from rag.index.tuning import QUESTIONS, read_record, tune_dir, tuned_weights, undo, write_record
from rag.llm.base import Message
from rag.llm.lazy import LazyLLM
from rag.modes import FusionMode
from rag.retrieval.hits import ranked
from rag.retrieval.open import open_queryable
from rag.service.holder import IndexHolder
from rag.settings import Settings, build_settings
from rag.tune.fusion import Candidates, choose, kept
from rag.tune.questions import (
    clean_question,
    question_cache,
    sample_chunks,
    synthetic,
    write_questions,
)
from rag.tune.run import TuneRequest, tune_index


class CountingModel:
    def __init__(self) -> None:
        self.calls = 0

    def chat(self, messages: Sequence[Message], max_tokens: int | None = None) -> str:
        self.calls += 1
        return f'Question: "what is chunk {self.calls} about?"\nextra line'


def test_questions_are_cleaned_sampled_reproducibly_and_resumed(tmp_path: Path) -> None:
    assert clean_question('\n  Question: "Why do tides happen?"  \nmore') == "Why do tides happen?"
    rows = [(p, f"text {p}", f"h{p}") for p in range(50)]
    first = sample_chunks(rows, 10, seed=3)
    assert first == sample_chunks(rows, 10, seed=3) != sample_chunks(rows, 10, seed=4)
    assert len(first) == 10 and len(sample_chunks(rows, 99, seed=0)) == 50

    cache = question_cache(tmp_path / QUESTIONS)
    model = CountingModel()
    write_questions(first[:4], model, cache)
    with (tmp_path / QUESTIONS).open("a", encoding="utf-8") as handle:
        handle.write('{"text_hash": "cut sh')  # an interrupted write
    resumed = question_cache(tmp_path / QUESTIONS)
    write_questions(first, model, resumed)
    assert model.calls == 10  # the first four were not asked again
    questions = synthetic(first, question_cache(tmp_path / QUESTIONS))
    assert [q.position for q in questions] == [c.position for c in first]
    assert questions[0].question == "what is chunk 1 about?"


def test_weights_follow_the_retriever_that_finds_the_questions_chunks() -> None:
    # Dense ranks the questions' own chunk (0) first, BM25 second: fused with equal
    # weights it comes second (min-max: 1 + 0.44 against 0.5 + 1); a dense weight
    # above 1.11 brings it first.
    dense = ranked([0, 9, 8, 7, 6], [1.0, 0.65, 0.5, 0.4, 0.3])
    sparse = ranked([9, 0, 8, 7, 6], [10.0, 5.0, 4.0, 3.0, 1.0])
    candidates = [Candidates(0, dense, sparse)] * 5 + [Candidates(42, dense, sparse)]
    trips = kept(candidates)
    assert len(trips) == 5  # chunk 42 is in neither list
    choice = choose(trips, FusionMode.MINMAX, (1.0, 1.0), 60.0)
    assert choice.baseline_mrr == pytest.approx(0.5)
    assert choice.best_mrr == 1.0 and choice.best == (1.25, 1.0)
    assert choice.kept == choice.best
    flat = choose([Candidates(9, dense, sparse)], FusionMode.MINMAX, (1.0, 1.0), 60.0)
    assert flat.kept == (1.0, 1.0)  # nothing beats the configured weights


def test_record_round_trip_undo_and_bad_record(tmp_path: Path) -> None:
    assert tuned_weights(tmp_path) is None and not undo(tmp_path)
    write_record(tmp_path, {"weights": {"minmax": {"dense": 2.0, "sparse": 1.0}}})
    assert tuned_weights(tmp_path) == {FusionMode.MINMAX: (2.0, 1.0)}
    assert undo(tmp_path) and read_record(tmp_path) is None
    (tune_dir(tmp_path) / "tuned.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tuned\.json"):
        tuned_weights(tmp_path)


def settings_for(index: Path) -> Settings:
    return build_settings({"index_dir": index}, use_env=False)


def test_tuning_with_the_real_llm_is_recorded_used_and_undone(
    facts_index: Path, real_embedder: Embedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    shutil.copytree(facts_index, index)
    settings = settings_for(index)
    llm = LazyLLM(settings)
    try:
        lines: list[str] = []
        estimate = TuneRequest(6, 0, estimate_only=True)
        assert tune_index(settings, estimate, real_embedder, llm, lines.append) is None
        assert "6 to write" in lines[0] and not tune_dir(index).exists()
        request = TuneRequest(6, 0, progress=False)
        record = tune_index(settings, request, real_embedder, llm, lines.append)
    finally:
        llm.close()
    assert record is not None
    written = (tune_dir(index) / QUESTIONS).read_text(encoding="utf-8").splitlines()
    assert len(written) == 6 and all(json.loads(line)["question"] for line in written)
    assert record["questions"] == 6 and 1 <= record["round_trip_kept"] <= 6
    assert record["llm_seconds"] > 0 and "no queries" in record["zero_shot"]
    assert set(record["modes"]) == {"minmax", "rrf"}
    assert read_record(index) == {"version": 1, **record}

    # Again: every question is cached, so no LLM time.
    again = tune_index(settings, request, real_embedder, LazyLLM(settings), print)
    assert again is not None and again["llm_seconds"] == 0 and again["model"] == "cached"

    assert main(["tune", "--index", str(index), "--undo"]) == 0
    assert "tuning removed" in capsys.readouterr().out and read_record(index) is None


def test_search_and_the_service_fuse_with_the_tuned_weights(
    facts_index: Path, real_embedder: Embedder, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    shutil.copytree(facts_index, index)
    settings = settings_for(index)
    question = "what makes bread dough rise"
    folder = current_generation(index)
    plain = open_queryable(folder, settings, real_embedder)
    holder = IndexHolder(settings, real_embedder)
    try:
        holder.reload()
        before = plain.search(question, 3, FusionMode.MINMAX).hits
        write_record(index, {"weights": {"minmax": {"dense": 3.0, "sparse": 1.0}}})
        tuned = open_queryable(folder, settings, real_embedder)
        ignored = open_queryable(
            folder, settings.with_changes(retrieval={"use_tuning": False}), real_embedder
        )
        after = tuned.search(question, 3, FusionMode.MINMAX).hits
        assert tuned.tuned == {FusionMode.MINMAX: (3.0, 1.0)} and ignored.tuned is None
        # Min-max scores are the weighted sum of normalised scores: the top hit's
        # score moves from at most 2 to at most 4.
        assert before[0].score <= 2.0 < after[0].score
        assert ignored.search(question, 3, FusionMode.MINMAX).hits[0].score == before[0].score
        assert holder.reload()  # same generation, new weights
        with holder.acquire() as live:
            assert live.retriever.tuned == {FusionMode.MINMAX: (3.0, 1.0)}
        tuned.close()
        ignored.close()
    finally:
        plain.close()
        holder.close()
