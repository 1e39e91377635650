"""RAPTOR: clusters, the summary tree at ingest, and summaries handing on their chunks.

The clustering and the hand-on are checked on made-up vectors; the tree at
ingest with a scripted chat model (which counts what it is asked, so the
incremental rebuild is exact) and once with the real LLM and embedder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.raptor import stage
from ingest.raptor.cluster import fresh_groups, regroup
from ingest.raptor.summaries import CACHE, Summariser, summary_key
from ingest.remove import remove_documents
from ingest.run import Options, run_ingest
from rag.append_cache import AppendCache
from rag.embedding import Embedder
from rag.index.generations import current_generation
from rag.index.snapshot import open_current
from rag.index.store import DocumentRecord
from rag.llm.base import Message
from rag.modes import FusionMode
from rag.raptor_marks import LEVEL, is_summary, leaves_of
from rag.retrieval.open import open_queryable
from rag.retrieval.summaries import SummaryLeaves, expand
from rag.settings import Settings, build_settings
from tests.conftest import write_facts


def _topics(n_topics: int, per_topic: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_topics, dim))
    rows = [c + 0.15 * rng.normal(size=dim) for c in centres for _ in range(per_topic)]
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_fresh_groups_cover_every_item_once_and_stay_bounded() -> None:
    vectors = _topics(7, 9)
    ids = [f"c{i}" for i in range(len(vectors))]
    groups = fresh_groups(ids, vectors, size=5, level=1, seed=0)
    members = [m for g in groups for m in g.members]
    assert sorted(members) == sorted(ids)
    assert max(len(g.members) for g in groups) <= 10
    assert len({g.id for g in groups}) == len(groups)


def test_fresh_groups_follow_the_topics() -> None:
    vectors = _topics(4, 5, seed=3)
    ids = [f"t{i // 5}-{i}" for i in range(20)]
    groups = fresh_groups(ids, vectors, size=5, level=1, seed=0)
    for group in groups:
        assert len({m.split("-")[0] for m in group.members}) == 1, group


def test_regroup_changes_only_the_groups_a_change_touches() -> None:
    vectors = _topics(6, 5, seed=1)
    ids = [f"c{i}" for i in range(30)]
    before = fresh_groups(ids, vectors, size=5, level=1, seed=0)
    # One item removed, one added beside the first one's topic.
    gone = "c7"
    extra = vectors[0] + 0.01
    extra /= np.linalg.norm(extra)
    now_ids = [i for i in ids if i != gone] + ["new"]
    now = np.vstack([vectors[[ids.index(i) for i in now_ids[:-1]]], extra[None, :]])
    after = regroup(now_ids, now.astype(np.float32), before, size=5, level=1, seed=0)
    assert sorted(m for g in after for m in g.members) == sorted(now_ids)
    changed = {g.id for g in before} ^ {g.id for g in after} | {
        g.id for g in after for b in before if b.id == g.id and b.members != g.members
    }
    touched = {g.id for g in before if gone in g.members or ids[0] in g.members}
    assert changed <= touched and len(touched) <= 2
    home = next(g for g in after if "new" in g.members)
    assert ids[0] in home.members


def test_regroup_from_nothing_is_a_fresh_grouping() -> None:
    vectors = _topics(3, 4)
    ids = [f"c{i}" for i in range(12)]
    assert regroup(ids, vectors, [], 4, 1, 0) == fresh_groups(ids, vectors, 4, 1, 0)


def test_a_summary_hands_on_its_nearest_unseen_chunks_in_its_place() -> None:
    tree = SummaryLeaves({100: (1, 2, 3), 101: (3, 4)})
    closeness = {1: 0.1, 2: 0.9, 3: 0.5, 4: 0.2}

    def near(positions: Sequence[int]) -> list[float]:
        return [closeness[p] for p in positions]

    out = expand([7, 100, 2, 101, 4], tree, near, per_hit=2, allowed=None)
    assert [(r.position, r.via) for r in out] == [(7, None), (2, 100), (3, 100), (4, 101)]
    assert [r.source for r in out] == [0, 1, 1, 3]
    # A filter keeps out the chunks it does not allow; without closeness, rank order.
    filtered = expand([100, 3], tree, None, per_hit=2, allowed={1, 3})
    assert [(r.position, r.via) for r in filtered] == [(3, 100), (1, 100)]


class Scripted:
    """A chat model that summarises by listing the first words of each passage."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def chat(self, messages: Sequence[Message], max_tokens: int | None = None) -> str:
        user = messages[-1]["content"]
        passages = user.split("<passage>")[1:]
        self.calls.append(len(passages))
        firsts = [p.strip().split()[0] for p in passages if p.strip()]
        return "Summary: these passages cover " + ", ".join(firsts) + "."


class FakeLLM:
    model = Scripted()

    def __init__(self, settings: Settings) -> None:
        self.tasks = FakeLLM.model

    def close(self) -> None:
        pass


def _summaries(index: Path) -> list[DocumentRecord]:
    snap = open_current(index)
    try:
        return [d for d in snap.store.documents() if is_summary(d.source_key)]
    finally:
        snap.close()


def _settings(index: Path, **raptor: Any) -> Settings:
    return build_settings(
        {"index_dir": index, "raptor": {"cluster_size": 2, **raptor}}, use_env=False
    )


def test_the_tree_is_kept_up_to_date_summarising_only_what_changed(
    tmp_path: Path, real_embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stage, "LazyLLM", FakeLLM)
    FakeLLM.model = Scripted()
    corpus = write_facts(tmp_path / "corpus")
    index = tmp_path / "index"
    settings = _settings(index)
    first = run_ingest(settings, Options([corpus], raptor=True), lambda: real_embedder)
    tree = _summaries(index)
    assert first.summaries == len(tree) >= 3 and first.summaries_written == len(tree)
    assert {d.metadata[LEVEL] for d in tree} >= {"1", "2"}
    snap = open_current(index)
    try:
        chunk_ids = {
            c.chunk_id for d in snap.store.documents() for c in snap.store.chunks_of(d.doc_id)
        }
    finally:
        snap.close()
    for doc in tree:
        assert set(leaves_of(doc.metadata)) <= chunk_ids

    # Unchanged corpus: nothing written, nothing asked.
    asked = len(FakeLLM.model.calls)
    again = run_ingest(settings, Options([corpus]), lambda: real_embedder)
    assert again.generation is None and len(FakeLLM.model.calls) == asked

    # One file changed: only the summaries over it (and above them) are written again.
    (corpus / "chess.txt").write_text("Chess openings: the Sicilian answers e4 with c5.\n")
    changed = run_ingest(settings, Options([corpus]), lambda: real_embedder)
    assert changed.updated == 1 and changed.summaries is not None
    assert 1 <= changed.summaries_written < changed.summaries
    assert changed.summaries_written <= settings.raptor.levels
    listed = [w for d in _summaries(index) for w in d.text.split("cover ")[1][:-1].split(", ")]
    assert "Chess" in listed and "In" not in listed  # the old chess text began "In chess"

    # A removed document takes the summaries over it along.
    snap = open_current(index)
    try:
        chess = next(d for d in snap.store.documents() if d.source_path.endswith("chess.txt"))
    finally:
        snap.close()
    remove_documents(settings, [chess.doc_id])
    assert all(chess.doc_id not in d.metadata["raptor_docs"] for d in _summaries(index))

    # --no-raptor drops the tree.
    dropped = run_ingest(settings, Options([corpus], raptor=False), lambda: real_embedder)
    assert dropped.generation is not None and _summaries(index) == []


def test_an_interrupted_tree_resumes_from_the_summaries_it_wrote(tmp_path: Path) -> None:
    cache = AppendCache(tmp_path / CACHE, value="summary")
    model = Scripted()
    summariser = Summariser(model, cache, 64)
    first = summariser.summary(["Alpha one.", "Beta two."])
    with (tmp_path / CACHE).open("a") as handle:
        handle.write('{"key": "cut sh')  # a kill mid-line
    again = Summariser(model, AppendCache(tmp_path / CACHE, value="summary"), 64)
    assert again.summary(["Alpha one.", "Beta two."]) == first and again.reused == 1
    again.summary(["Gamma three.", "Delta four."])
    lines = (tmp_path / CACHE).read_text().splitlines()
    assert json.loads(lines[-1])["key"] == summary_key(["Gamma three.", "Delta four."])
    assert len(model.calls) == 2


def test_real_llm_tree_hands_on_original_chunks(tmp_path: Path, real_embedder: Embedder) -> None:
    corpus = write_facts(tmp_path / "corpus")
    index = tmp_path / "index"
    settings = _settings(index, levels=2, summary_tokens=60)
    report = run_ingest(settings, Options([corpus], raptor=True), lambda: real_embedder)
    tree = _summaries(index)
    assert report.summaries == len(tree) >= 2 and report.summary_seconds > 0
    for doc in tree:
        assert doc.text and not doc.text.lower().startswith("summary:")
    # A query that is a summary's own text finds the summary first; the results
    # hold its chunks instead, marked with it, and never a summary.
    retriever = open_queryable(current_generation(index), settings, real_embedder)
    try:
        outcome = retriever.search(tree[0].text, 5, FusionMode.DENSE)
        summary_positions = set(SummaryLeaves.of(retriever.store).leaves)
        assert not {h.position for h in outcome.hits} & summary_positions
        handed = [h for h in outcome.hits if h.via is not None]
        assert handed and handed[0] is outcome.hits[0]
        chunks = retriever.passages([h.position for h in handed])
        vias = retriever.passages([h.via for h in handed if h.via is not None])
        for chunk, via in zip(chunks, vias, strict=True):
            assert chunk.chunk_id in leaves_of(via.metadata) and not is_summary(chunk.source_key)
    finally:
        retriever.close()
