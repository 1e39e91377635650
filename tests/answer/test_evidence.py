"""Evidence selection: the run of sentences a generator is shown, with exact spans."""

from __future__ import annotations

from rag.answer.evidence import EvidenceSelector, allocate, excerpt
from rag.documents import PageSpan
from rag.index.terms import TermAnalyzer
from rag.retrieval.passages import Passage
from rag.settings import TokenizerSettings
from tests.fakes import KeywordEmbedder

TEXT = (
    "Glaciers form where snow outlasts the summer. "  # 0-45
    "Their ice flows downhill under its own weight. "  # 46-92
    "The Aletsch glacier is the largest in the Alps. "  # 93-140
    "Tourists reach it by train from Fiesch."
)


def passage(text: str = TEXT, char_start: int = 1000, pages: bool = True) -> Passage:
    spans = (PageSpan(3, 1000, 1093), PageSpan(4, 1093, 1200)) if pages else ()
    return Passage(
        position=0,
        chunk_id="c",
        doc_id="d",
        title="Glaciers",
        source_path="glaciers.pdf",
        source_key="k",
        page_start=3 if pages else None,
        page_end=4 if pages else None,
        char_start=char_start,
        char_end=char_start + len(text),
        heading_path=(),
        text=text,
        metadata={},
        pages=spans,
    )


def test_the_best_sentences_are_kept_within_the_budget_shared_by_all_passages() -> None:
    one = [(0, 10), (11, 20), (21, 30), (31, 40)]  # 10 characters each, 11 with a space
    two = [(0, 30), (31, 40)]
    # 0.9 seeds passage one, 0.8 seeds two; 0.5 grows one's run; nothing else fits in 35.
    runs = allocate([one, two], [[0.1, 0.9, 0.5, 0.2], [0.3, 0.8]], 35)
    assert runs == [(11, 30), (31, 40)]
    assert allocate([one, two], [[0.1, 0.9, 0.5, 0.2], [0.3, 0.8]], 15) == [(11, 20), None]
    # The best sentence is kept even when it alone is over the budget.
    assert allocate([two], [[0.9, 0.1]], 5) == [(0, 30)]
    # A neighbour is only ever added next to the run: the run stays contiguous.
    assert allocate([one], [[0.0, 0.0, 0.0, 1.0]], 100) == [(0, 40)]


def test_an_excerpt_keeps_the_document_span_and_its_own_pages() -> None:
    cut = excerpt(passage(), 93, 140)
    assert cut.text == "The Aletsch glacier is the largest in the Alps."
    assert (cut.char_start, cut.char_end) == (1093, 1140)
    assert (cut.page_start, cut.page_end) == (4, 4)
    unpaged = excerpt(passage(pages=False), 0, 45)
    assert (unpaged.page_start, unpaged.page_end) == (None, None)


def test_selector_keeps_the_sentences_about_the_question() -> None:
    selector = EvidenceSelector(KeywordEmbedder(), TermAnalyzer(TokenizerSettings()), 120)
    other = passage("Ice is frozen water. Glaciers are ice.", char_start=0, pages=False)
    chosen = selector.select("Which glacier is the largest in the Alps?", [passage(), other])
    assert chosen[0].text.startswith("The Aletsch glacier is the largest in the Alps.")
    assert sum(len(p.text) for p in chosen) <= 120
    assert TEXT[chosen[0].char_start - 1000 : chosen[0].char_end - 1000] == chosen[0].text
    assert selector.select("anything", []) == []
