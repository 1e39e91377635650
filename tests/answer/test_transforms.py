from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.transforms import Hyde, MultiQuery, condense
from rag.embedding import Embedder
from rag.index.snapshot import open_current
from rag.llm.local import LocalLLM
from rag.modes import FusionMode
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.passages import load_passages
from rag.settings import LLMSettings, RetrievalSettings, TokenizerSettings
from tests.fakes import ScriptedChat


def test_multi_query_parses_lines_drops_repeats_and_numbering() -> None:
    chat = ScriptedChat(
        "1. moon gravity tides\n- tidal forces\n\nWhat causes tides?\n"
        "tidal forces\nextra one\nanother"
    )
    assert MultiQuery(chat).queries("What causes tides?") == [
        "What causes tides?",
        "moon gravity tides",
        "tidal forces",
        "extra one",
    ]


def test_hyde_adds_the_draft_and_condense_uses_history() -> None:
    assert Hyde(ScriptedChat(" The Moon pulls the sea. ")).queries("tides?") == [
        "tides?",
        "The Moon pulls the sea.",
    ]
    chat = ScriptedChat("What causes ocean tides?\nextra")
    history = [
        {"role": "user", "content": "Tell me about ocean tides."},
        {"role": "assistant", "content": "Tides are the rise and fall of the sea."},
    ]
    assert condense("What causes them?", history, chat) == "What causes ocean tides?"
    assert "Tell me about ocean tides." in chat.prompts[0]
    assert condense("Same question?", [], chat) == "Same question?"


def test_transform_queries_are_all_searched_and_fused(
    facts_index: Path, real_embedder: Embedder
) -> None:
    snapshot = open_current(facts_index)
    try:
        hybrid = HybridRetriever(snapshot, real_embedder, TokenizerSettings(), RetrievalSettings())
        chat = ScriptedChat("castling rook king\nwaggle dance bees")
        outcome = hybrid.search("zzz", 5, FusionMode.SPARSE, transform=MultiQuery(chat))
        files = {
            Path(p.source_path).name
            for p in load_passages(snapshot.store, [h.position for h in outcome.hits])
        }
        assert {"chess.txt", "bees.txt"} <= files
        assert "transform" in outcome.timings_ms
    finally:
        snapshot.close()


@pytest.mark.slow
def test_real_model_condenses_a_follow_up() -> None:
    llm = LocalLLM(LLMSettings())
    try:
        history = [
            {"role": "user", "content": "Tell me about ocean tides."},
            {"role": "assistant", "content": "Tides are the rise and fall of the sea."},
        ]
        standalone = condense("What causes them?", history, llm)
        assert "tide" in standalone.lower() and standalone.endswith("?")
        variants = MultiQuery(llm).queries("What causes ocean tides?")
        assert len(variants) >= 2 and variants[0] == "What causes ocean tides?"
        assert len(Hyde(llm).queries("What causes ocean tides?")[1]) > 20
    finally:
        llm.close()
