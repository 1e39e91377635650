from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunking import make_chunker
from ingest.chunking.base import MAX_CHARS_PER_TOKEN
from ingest.chunking.fixed import FixedChunker
from ingest.chunking.recursive import RecursiveChunker
from ingest.chunking.semantic import SemanticChunker
from ingest.loaders.pdf import PdfLoader
from rag.documents import Chunk, Document, PageSpan
from rag.embedding import Embedder
from rag.errors import ConfigError
from rag.settings import ChunkingSettings, IngestSettings
from tests.conftest import PDFS, need
from tests.fakes import KeywordEmbedder, WordTokenizer

TOKENS = WordTokenizer()


def doc(text: str, pages: tuple[PageSpan, ...] = ()) -> Document:
    return Document(source_path="/x.txt", source_key="/x.txt", title="x", text=text, pages=pages)


def count(text: str) -> int:
    return len(TOKENS.token_offsets(text))


def check_invariants(document: Document, chunks: list[Chunk], size: int, overlap: int) -> None:
    covered = [False] * len(document.text)
    for before, chunk in itertools.pairwise(chunks):
        assert before.char_start < chunk.char_start, "chunks advance through the text"
        shared = document.text[chunk.char_start : before.char_end]
        assert count(shared) <= overlap if chunk.char_start < before.char_end else True
    for ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == ordinal
        assert chunk.text == document.text[chunk.char_start : chunk.char_end]
        assert chunk.text.strip() == chunk.text != ""
        assert chunk.n_tokens == count(chunk.text) <= size
        for i in range(chunk.char_start, chunk.char_end):
            covered[i] = True
    lost = [ch for ch, seen in zip(document.text, covered, strict=True) if not seen]
    assert not "".join(lost).strip(), "every non-space character lands in some chunk"


words = st.text(alphabet=st.sampled_from("abcdefgh"), min_size=1, max_size=12)
sentence = st.lists(words, min_size=1, max_size=30).map(lambda w: " ".join(w).capitalize() + ".")
paragraph = st.lists(sentence, min_size=1, max_size=8).map(" ".join)
texts = st.lists(paragraph, min_size=1, max_size=6).map("\n\n".join)
sizes = st.tuples(st.integers(8, 80), st.integers(0, 7)).map(lambda t: (t[0], min(t[1], t[0] - 1)))


@settings(max_examples=150, deadline=None)
@given(texts, sizes)
def test_recursive_invariants(text: str, size_overlap: tuple[int, int]) -> None:
    size, overlap = size_overlap
    document = doc(text)
    check_invariants(
        document, RecursiveChunker(TOKENS, size, overlap).chunk(document), size, overlap
    )


@settings(max_examples=100, deadline=None)
@given(texts, sizes)
def test_fixed_invariants(text: str, size_overlap: tuple[int, int]) -> None:
    size, overlap = size_overlap
    document = doc(text)
    chunks = FixedChunker(TOKENS, size, overlap).chunk(document)
    check_invariants(document, chunks, size, overlap)
    for before, after in itertools.pairwise(chunks[:-1]):
        assert count(document.text[after.char_start : before.char_end]) == overlap


@settings(max_examples=60, deadline=None)
@given(texts, st.integers(8, 60))
def test_semantic_invariants(text: str, size: int) -> None:
    document = doc(text)
    chunks = SemanticChunker(KeywordEmbedder(), size, 25.0).chunk(document)
    check_invariants(document, chunks, size, 0)


def test_recursive_prefers_paragraph_breaks() -> None:
    first = "Cats purr softly. Cats sleep all day. Cats chase mice."
    second = "Ships sail far. Ships carry cargo. Ships need crews."
    document = doc(f"{first}\n\n{second}")
    chunks = RecursiveChunker(TOKENS, size=20, overlap=0).chunk(document)
    assert [c.text for c in chunks] == [first, second]


def test_recursive_overlap_repeats_whole_sentences() -> None:
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    chunks = RecursiveChunker(TOKENS, size=8, overlap=4).chunk(doc(text))
    assert [c.text for c in chunks] == [
        "One two three. Four five six.",
        "Four five six. Seven eight nine.",
        "Seven eight nine. Ten eleven twelve.",
    ]


def test_overlong_word_is_cut_into_windows() -> None:
    text = "short " + "-".join(["x"] * 50) + " tail"
    chunks = RecursiveChunker(TOKENS, size=16, overlap=0).chunk(doc(text))
    assert max(c.n_tokens for c in chunks) <= 16
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_semantic_breaks_at_topic_change() -> None:
    cats = " ".join(["Cats purr and cats nap and cats play."] * 4)
    ships = " ".join(["Ships sail and ships dock and ships float."] * 4)
    chunks = SemanticChunker(KeywordEmbedder(), 200, 25.0).chunk(doc(f"{cats} {ships}"))
    assert [c.text for c in chunks] == [cats, ships]


def test_chunks_know_pages_and_headings() -> None:
    text = "Page one words here.\n\nPage two words here."
    document = doc(text, pages=(PageSpan(1, 0, 20), PageSpan(2, 22, len(text))))
    one, two = RecursiveChunker(TOKENS, size=5, overlap=0).chunk(document)
    assert (one.page_start, one.page_end, two.page_start) == (1, 1, 2)
    both = RecursiveChunker(TOKENS, size=50, overlap=0).chunk(document)
    assert [(c.page_start, c.page_end) for c in both] == [(1, 2)]


def test_whitespace_only_document_gives_no_chunks() -> None:
    assert RecursiveChunker(TOKENS, 20, 2).chunk(doc("  \n\n \t ")) == []


def test_chunk_size_over_model_window_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"chunking\.size=300"):
        make_chunker(ChunkingSettings(size=300), KeywordEmbedder())


def test_real_tokenizer_never_overflows_the_model_window(
    real_embedder: Embedder,
) -> None:
    assert real_embedder.max_tokens == 254  # 256 positions minus [CLS] and [SEP]
    [document] = PdfLoader().load(need(PDFS / "debian/reportlab-userguide.pdf"), IngestSettings())
    for chunking in (
        ChunkingSettings(size=254, overlap=32),
        ChunkingSettings(strategy="fixed", size=254, overlap=32),
    ):
        chunks = make_chunker(chunking, real_embedder).chunk(document)
        assert len(chunks) > 100
        for chunk in chunks:
            assert len(real_embedder.token_offsets(chunk.text)) <= 254
            # A piece of a table begins with its repeated header (test_tables.py).
            assert (
                chunk.text[chunk.prefix_chars :] == document.text[chunk.char_start : chunk.char_end]
            )


def test_a_word_the_tokenizer_cannot_split_is_cut_by_characters(
    real_embedder: Embedder,
) -> None:
    # Over 100 characters without a break: one [UNK] token to WordPiece, however long.
    blob = "ACGT" * 250_000
    document = doc(f"Sequence follows. {blob} End of the sequence.")
    for chunking in (ChunkingSettings(), ChunkingSettings(strategy="fixed")):
        chunks = make_chunker(chunking, real_embedder).chunk(document)
        limit = chunking.size * MAX_CHARS_PER_TOKEN
        assert max(len(c.text) for c in chunks) <= limit
        assert len(chunks) >= len(blob) // limit
        start = document.text.index(blob)
        reached = start
        for c in sorted(chunks, key=lambda c: c.char_start):
            if c.char_start <= reached:
                reached = max(reached, c.char_end)
        assert reached >= start + len(blob), "every character of the blob is in a chunk"
        assert all(c.text == document.text[c.char_start : c.char_end] for c in chunks)
