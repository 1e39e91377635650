"""Retrieval with the real packaged model on a corpus whose answers are known."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.embedding import Embedder, resolve_model
from rag.errors import ConfigError
from rag.index.snapshot import Snapshot, open_current
from rag.modes import FusionMode
from rag.retrieval.filters import Filters
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.passages import load_passages
from rag.settings import EmbeddingSettings, RetrievalSettings, TokenizerSettings

# Question, the file that answers it; the dense-only questions share no content word
# with their answer, the sparse-only ones are rare terms.
KNOWN = [
    ("what makes dough rise", "bread.md"),
    ("why does the sea level change twice a day", "tides.txt"),
    ("how do insects tell each other where food is", "bees.txt"),
    ("castling king rook", "chess.txt"),
    ("moraines", "glaciers.pdf"),
    ("basalt lava", "volcanoes.md"),
]


@pytest.fixture
def snapshot(facts_index: Path) -> Iterator[Snapshot]:
    opened = open_current(facts_index)
    yield opened
    opened.close()


def retriever(snapshot: Snapshot, embedder: Embedder) -> HybridRetriever:
    return HybridRetriever(snapshot, embedder, TokenizerSettings(), RetrievalSettings())


def top_file(
    hybrid: HybridRetriever, question: str, mode: FusionMode, filters: Filters | None = None
) -> str:
    outcome = hybrid.search(question, 3, mode, filters)
    [first] = load_passages(hybrid.snapshot.store, [outcome.hits[0].position])
    return Path(first.source_path).name


@pytest.mark.parametrize("mode", list(FusionMode))
def test_each_mode_finds_the_known_answers(
    snapshot: Snapshot, real_embedder: Embedder, mode: FusionMode
) -> None:
    hybrid = retriever(snapshot, real_embedder)
    expected = KNOWN if mode is not FusionMode.SPARSE else KNOWN[3:]  # BM25 needs shared words
    for question, answer in expected:
        assert top_file(hybrid, question, mode) == answer, question


def test_sparse_alone_misses_paraphrases_that_dense_finds(
    snapshot: Snapshot, real_embedder: Embedder
) -> None:
    hybrid = retriever(snapshot, real_embedder)
    outcome = hybrid.search("what makes dough rise", 5, FusionMode.SPARSE)
    files = {
        Path(p.source_path).name
        for p in load_passages(snapshot.store, [h.position for h in outcome.hits])
    }
    assert top_file(hybrid, "what makes dough rise", FusionMode.DENSE) == "bread.md"
    assert "bread.md" in files  # "dough" and "rise" are shared words


def test_fused_hits_carry_both_ranks(snapshot: Snapshot, real_embedder: Embedder) -> None:
    outcome = retriever(snapshot, real_embedder).search("basalt lava", 3, FusionMode.RRF)
    first = outcome.hits[0]
    assert first.dense is not None and first.sparse is not None
    assert first.score == pytest.approx(1 / (60 + first.dense.rank) + 1 / (60 + first.sparse.rank))
    assert set(outcome.timings_ms) >= {"embed", "dense", "sparse", "fuse"}


def test_filters_by_document_prefix_and_metadata(
    snapshot: Snapshot, real_embedder: Embedder
) -> None:
    hybrid = retriever(snapshot, real_embedder)
    bees = next(d for d in snapshot.store.documents() if d.source_path.endswith("bees.txt"))
    only_bees = Filters(doc_ids=(bees.doc_id,))
    for mode in (FusionMode.RRF, FusionMode.MINMAX, FusionMode.DENSE):
        assert top_file(hybrid, "lava", mode, only_bees) == "bees.txt"
    assert hybrid.search("lava", 5, FusionMode.SPARSE, only_bees).hits == []  # no shared term
    pdf_only = Filters(metadata={"format": "pdf"})
    assert top_file(hybrid, "lava and basalt", FusionMode.DENSE, pdf_only) == "glaciers.pdf"
    folder = str(Path(bees.source_path).parent)
    assert top_file(hybrid, "tides", FusionMode.RRF, Filters(source_prefix=folder)) == "tides.txt"
    nothing = hybrid.search("tides", 5, FusionMode.RRF, Filters(source_prefix="/nowhere/"))
    assert nothing.hits == []
    with pytest.raises(ConfigError, match="unknown metadata key"):
        hybrid.search("tides", 5, FusionMode.RRF, Filters(metadata={"colour": "red"}))
    tides = next(d for d in snapshot.store.documents() if d.source_path.endswith("tides.txt"))
    without = Filters(exclude_doc_ids=(tides.doc_id,))
    for mode in FusionMode:
        assert top_file(hybrid, "ocean tides and the moon", mode) == "tides.txt"
        hits = hybrid.search("ocean tides and the moon", 10, mode, without).hits
        found = load_passages(snapshot.store, [h.position for h in hits])
        assert all(not p.source_path.endswith("tides.txt") for p in found)
        assert found or mode is FusionMode.SPARSE  # no other document shares a term


def test_passages_point_at_pages_and_spans(snapshot: Snapshot, real_embedder: Embedder) -> None:
    hybrid = retriever(snapshot, real_embedder)
    outcome = hybrid.search("moraines retreating glacier", 1, FusionMode.RRF)
    [passage] = load_passages(snapshot.store, [outcome.hits[0].position])
    doc = snapshot.store.document(passage.doc_id)
    assert doc is not None
    assert doc.text[passage.char_start : passage.char_end] == passage.text
    assert (passage.page_start, passage.page_end) == (1, 2) or passage.page_start == 2


def test_cross_encoder_reranker_code_path(
    snapshot: Snapshot, real_embedder: Embedder, tmp_path: Path
) -> None:
    """No cross-encoder weights ship in a package, so the test builds a tiny one."""
    from sentence_transformers import CrossEncoder
    from transformers import BertConfig, BertForSequenceClassification

    from rag.retrieval.rerank import CrossEncoderReranker

    tokenizer_dir = Path(resolve_model(EmbeddingSettings().model))
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    model_dir = tmp_path / "tiny-cross-encoder"
    BertForSequenceClassification(config).save_pretrained(model_dir)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tokenizer_dir / name).exists():
            shutil.copy(tokenizer_dir / name, model_dir / name)
    assert CrossEncoder(str(model_dir)).predict([("a", "b")]).shape == (1,)
    reranker = CrossEncoderReranker(str(model_dir), candidates=4)
    hybrid = HybridRetriever(
        snapshot, real_embedder, TokenizerSettings(), RetrievalSettings(), reranker
    )
    outcome = hybrid.search("tides and the moon", 6, FusionMode.RRF)
    head = outcome.hits[:4]
    assert all(h.rerank_score is not None for h in head)
    assert [h.rerank_score for h in head] == sorted(
        (h.rerank_score or 0 for h in head), reverse=True
    )
    assert all(h.rerank_score is None for h in outcome.hits[4:])
    expected = reranker.score(
        "tides and the moon",
        [p.text for p in load_passages(snapshot.store, [h.position for h in head])],
    )
    assert sorted(expected, reverse=True) == pytest.approx([h.rerank_score for h in head])
