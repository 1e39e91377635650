"""Tables: rendered as Markdown by the loaders, kept whole or cut between rows
with their header repeated by every chunker, found again by retrieval."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunking import make_chunker
from ingest.chunking.base import Chunker
from ingest.chunking.fixed import FixedChunker
from ingest.chunking.recursive import RecursiveChunker
from ingest.chunking.semantic import SemanticChunker
from ingest.loaders import loader_for
from ingest.loaders.markdown import heading_marks
from ingest.run import Options, run_ingest
from ingest.tables import find_tables, markdown_table, normalize_tables, parse_row
from rag.answer.evidence import excerpt
from rag.documents import Chunk, Document
from rag.embedding import Embedder
from rag.errors import LimitExceededError
from rag.index.snapshot import open_current
from rag.modes import FusionMode
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.passages import Passage, load_passages
from rag.settings import (
    ChunkingSettings,
    IngestSettings,
    RetrievalSettings,
    TokenizerSettings,
    build_settings,
)
from tests.fakes import KeywordEmbedder, WordTokenizer

TOKENS = WordTokenizer()


def doc(text: str) -> Document:
    headings = tuple(heading_marks(text))
    return Document(
        source_path="/t.md", source_key="/t.md", title="t", text=text, headings=headings
    )


def load(path: Path, settings: IngestSettings | None = None) -> Document:
    [document] = loader_for(path).load(path, settings or IngestSettings())
    return document


def header_of(table_text: str) -> str:
    return "\n".join(table_text.split("\n")[:2])


# --- rendering and finding -------------------------------------------------


def test_markdown_table_escapes_pipes_collapses_newlines_and_pads_ragged_rows() -> None:
    table = markdown_table([["Name", "Note|s"], ["a\nb", None, "extra"], ["", ""], ["c"]])
    assert table == ("| Name | Note\\|s | |\n| --- | --- | --- |\n| a b | | extra |\n| c | | |")
    assert markdown_table([]) == markdown_table([["", None]]) == ""


def test_rendered_tables_are_found_again_with_their_cells() -> None:
    table = markdown_table([["Fruit", "Price"], ["Apple | green", "1.10"], ["Pear", "2"]])
    text = f"Prices follow.\n\n{table}\n\nThat is all."
    [found] = find_tables(text)
    assert text[found.start : found.end] == table
    assert text[found.start : found.header_end] == header_of(table)
    assert found.header == ("Fruit", "Price")
    assert [parse_row(text[a:b]) for a, b in found.rows] == [
        ["Apple | green", "1.10"],
        ["Pear", "2"],
    ]


def test_what_is_not_a_table_is_not_found() -> None:
    fenced = "```\n| a | b |\n| --- | --- |\n```"
    mismatched = "| a | b |\n| --- |\n| 1 | 2 |"
    setext = "Title\n---\nText | more"
    assert find_tables(f"{fenced}\n\n{mismatched}\n\n{setext}") == []


def test_pipe_tables_written_any_way_are_normalised() -> None:
    written = "a | b\n:-- | --:\n1 | 2 | 3\n4"
    assert normalize_tables(f"Intro\n\n{written}") == (
        "Intro\n\n| a | b | |\n| --- | --- | --- |\n| 1 | 2 | 3 |\n4"
    )
    wide = "| a |\n| - |\n" + "| x " * 5000 + "|\n" + "| y |\n" * 3
    assert normalize_tables(wide) == wide, "padding that would more than double it is skipped"


# --- loaders ---------------------------------------------------------------

HTML = """<html><head><title>Prices</title></head><body><h1>Fruit</h1><p>See below.</p>
<table><caption>Fruit prices</caption>
<thead><tr><th rowspan="2">Fruit</th><th colspan="2">2023</th></tr>
<tr><th>Q1</th><th>Q2</th></tr></thead>
<tbody><tr><td>Apple | green</td><td>1.10</td><td>1.20</td></tr>
<tr><td rowspan="2">Pear</td><td>2<br>(est.)</td><td>3</td></tr><tr><td>4</td></tr></tbody>
</table>
<table role="presentation"><tr><td><p>Layout cell one.</p></td><td>Layout two.</td></tr></table>
<h2>After</h2><p>The end.</p></body></html>"""


def test_html_table_becomes_a_markdown_table_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "prices.html"
    path.write_text(HTML, encoding="utf-8")
    document = load(path)
    table = (
        "| Fruit | 2023 Q1 | 2023 Q2 |\n| --- | --- | --- |\n"
        "| Apple \\| green | 1.10 | 1.20 |\n| Pear | 2 (est.) | 3 |\n| Pear | 4 | |"
    )
    assert f"See below.\n\nFruit prices\n\n{table}\n\nLayout cell one." in document.text
    assert "| Layout" not in document.text, "a layout table is read as text"
    [found] = find_tables(document.text)
    assert found.header == ("Fruit", "2023 Q1", "2023 Q2")
    after = document.text.index("After")
    assert document.heading_path(after) == ("Fruit", "After")
    assert document.heading_path(found.start) == ("Fruit",)


def test_html_span_copies_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.html"
    cell = "x" * 1000
    path.write_text(
        f'<table><tr><td colspan="1000" rowspan="60000">{cell}</td><td>b</td></tr>'
        + "<tr><td>c</td></tr>" * 2000
        + "</table>",
        encoding="utf-8",
    )
    with pytest.raises(LimitExceededError, match="max_document_chars"):
        load(path, IngestSettings(max_document_chars=1_000_000))


def test_markdown_tables_are_kept_as_tables(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        "# Metals\n\nDensities:\n\nMetal    | g/cm³\n-------- | -----:\n"
        "Iron     | 7.87\nGold | 19.3 | (soft)\n\n## Later\n\nText.\n",
        encoding="utf-8",
    )
    document = load(path)
    table = "| Metal | g/cm3 | |\n| --- | --- | --- |\n| Iron | 7.87 | |\n| Gold | 19.3 | (soft) |"
    assert f"Densities:\n\n{table}\n\n## Later" in document.text
    assert document.heading_path(document.text.index("Text.")) == ("Metals", "Later")


# --- chunking ---------------------------------------------------------------


def long_table(rows: int) -> str:
    body = [
        [f"R{i:03d}", f"city{i}", f"{1000 + i * 7}", f"note {i} of the survey"] for i in range(rows)
    ]
    return markdown_table([["Code", "City", "Population", "Remark"], *body])


def chunks_of_table(text: str, chunks: list[Chunk]) -> list[Chunk]:
    [table] = find_tables(text)
    return [c for c in chunks if c.char_start < table.end and c.char_end > table.start]


def check_table_rules(document: Document, chunks: list[Chunk], size: int, tokens: int) -> None:
    """Each table's rows lie whole in exactly one chunk (`tokens`: those of its
    widest row); every chunk starting in a table's body begins with its header
    (unless that is over half a chunk); a table that fits is in one chunk."""
    text = document.text
    for chunk in chunks:
        assert chunk.text[chunk.prefix_chars :] == text[chunk.char_start : chunk.char_end]
        assert chunk.n_tokens == len(TOKENS.token_offsets(chunk.text)) <= size
    repeated = {c.chunk_id: "" for c in chunks}
    for table in find_tables(text):
        header = text[table.start : table.header_end]
        header_tokens = len(TOKENS.token_offsets(header))
        repeats = header_tokens * 2 <= size
        for start, end in table.rows:
            holders = [c for c in chunks if c.char_start < end and c.char_end > start]
            if tokens <= size - (header_tokens if repeats else 0):  # a row fits: never cut
                assert len(holders) == 1, (text[start:end], [c.text for c in holders])
                assert holders[0].char_start <= start and end <= holders[0].char_end
        for chunk in chunks:
            if repeats and table.header_end <= chunk.char_start < table.end:
                repeated[chunk.chunk_id] = header + "\n"
        whole = len(TOKENS.token_offsets(text[table.start : table.end]))
        if whole <= size:
            touching = [c for c in chunks if c.char_start < table.end and c.char_end > table.start]
            assert len(touching) == 1
            assert touching[0].char_start <= table.start and table.end <= touching[0].char_end
    for chunk in chunks:
        assert chunk.text[: chunk.prefix_chars] == repeated[chunk.chunk_id], chunk.text


cells = st.text(alphabet=st.sampled_from("abcdxyz019"), min_size=1, max_size=6)
prose = st.lists(
    st.lists(cells, min_size=1, max_size=12).map(lambda w: " ".join(w).capitalize() + "."),
    min_size=1,
    max_size=5,
).map(" ".join)


@st.composite
def table_texts(draw: st.DrawFn) -> tuple[str, int]:
    """Prose and one or two tables, a blank line or a line break between the
    parts; with the tokens of the widest row ("| a | b |": a token per cell
    and per pipe)."""
    width = draw(st.integers(1, 4))
    row = st.lists(cells, min_size=width, max_size=width)
    pieces = [draw(prose)]
    for _ in range(draw(st.integers(1, 2))):
        rows = draw(st.lists(row, min_size=1, max_size=40))
        pieces += [markdown_table([[f"h{i}" for i in range(width)], *rows]), draw(prose)]
    breaks = draw(st.lists(st.sampled_from(["\n\n", "\n"]), min_size=len(pieces)))
    text = "".join(p + b for p, b in zip(pieces, breaks, strict=False))
    return text.strip(), 2 * width + 1


def recursive(size: int, overlap: int) -> Chunker:
    return RecursiveChunker(TOKENS, size, overlap)


@settings(max_examples=120, deadline=None)
@given(table_texts(), st.integers(16, 90), st.integers(0, 12))
def test_recursive_keeps_tables_whole_or_cuts_between_rows(
    text_tokens: tuple[str, int], size: int, overlap: int
) -> None:
    text, tokens = text_tokens
    document = doc(text)
    check_table_rules(document, recursive(size, overlap).chunk(document), size, tokens)


@settings(max_examples=80, deadline=None)
@given(table_texts(), st.integers(16, 90), st.integers(0, 12))
def test_fixed_keeps_tables_whole_or_cuts_between_rows(
    text_tokens: tuple[str, int], size: int, overlap: int
) -> None:
    text, tokens = text_tokens
    document = doc(text)
    check_table_rules(document, FixedChunker(TOKENS, size, overlap).chunk(document), size, tokens)


@settings(max_examples=40, deadline=None)
@given(table_texts(), st.integers(16, 90))
def test_semantic_keeps_tables_whole_or_cuts_between_rows(
    text_tokens: tuple[str, int], size: int
) -> None:
    text, tokens = text_tokens
    document = doc(text)
    chunks = SemanticChunker(KeywordEmbedder(), size, 25.0).chunk(document)
    check_table_rules(document, chunks, size, tokens)


def test_a_long_table_with_default_settings_repeats_its_header(real_embedder: Embedder) -> None:
    table = long_table(200)
    text = f"# Survey\n\nThe survey counted these cities.\n\n{table}\n\nThe counts are from 2020."
    document = doc(text)
    chunks = make_chunker(ChunkingSettings(), real_embedder).chunk(document)
    pieces = chunks_of_table(text, chunks)
    assert len(pieces) > 10
    header = header_of(table)
    assert pieces[0].prefix_chars == 0 and header in pieces[0].text
    for piece in pieces[1:]:
        assert piece.text.startswith(header + "\n| R"), piece.text[:80]
        assert len(real_embedder.token_offsets(piece.text)) == piece.n_tokens <= 200
        assert piece.heading_path == ("Survey",)
    rows = table.split("\n")[2:]
    held = [line for piece in pieces for line in piece.text.split("\n") if line.startswith("| R")]
    assert held == rows, "every row once, whole, in order"


def test_a_small_table_that_starts_mid_chunk_moves_whole_to_the_next() -> None:
    table = long_table(4)
    size = len(TOKENS.token_offsets(table)) + 10
    lead = " ".join(["Words before the table."] * 4)  # 20 tokens: the table no longer fits
    document = doc(f"{lead}\n\n{table}\n\nWords after.")
    chunks = RecursiveChunker(TOKENS, size, 8).chunk(document)
    [holder] = chunks_of_table(document.text, chunks)
    assert table in holder.text and holder.prefix_chars == 0
    assert chunks[0].text == lead


# --- spans of a chunk that repeats a header --------------------------------


def passage_of(chunk: Chunk) -> Passage:
    return Passage(
        position=0,
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        title="t",
        source_path="/t.md",
        source_key="/t.md",
        page_start=None,
        page_end=None,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        heading_path=chunk.heading_path,
        text=chunk.text,
        metadata={},
    )


def test_offsets_in_a_repeated_header_chunk_map_back_to_the_document() -> None:
    table = long_table(30)
    document = doc(f"Intro.\n\n{table}")
    chunks = RecursiveChunker(TOKENS, 60, 0).chunk(document)
    row = "| R010 | city10 | 1070 | note 10 of the survey |"
    piece = passage_of(next(c for c in chunks if row in c.text))
    assert piece.prefix_chars == len(header_of(table)) + 1
    at = piece.text.index(row)
    start = piece.document_offset(at)
    assert document.text[start : start + len(row)] == row
    assert piece.document_offset(3) == piece.char_start, "inside the header: the first row"
    kept = excerpt(piece, 0, at + len(row))  # header and rows, as evidence
    assert kept.text.startswith(header_of(table)) and kept.char_start == piece.char_start
    assert kept.prefix_chars == piece.prefix_chars
    assert document.text[kept.char_start : kept.char_end] == kept.text[kept.prefix_chars :]
    alone = excerpt(piece, at, at + len(row))  # the row alone keeps its header
    assert alone.text == header_of(table) + "\n" + row
    assert document.text[alone.char_start : alone.char_end] == row


# --- retrieval ---------------------------------------------------------------


def test_a_question_about_a_cell_finds_the_row_with_its_header(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [
        [f"Q{i:03d}", f"Vandorf{i}", f"{40 + i % 9} mm", f"{12 + i % 7} °C"] for i in range(150)
    ]
    table = markdown_table([["Station", "Town", "Rainfall", "Mean temperature"], *rows])
    (corpus / "climate.md").write_text(
        f"# Station climate\n\nMeasured over ten years.\n\n{table}\n", encoding="utf-8"
    )
    (corpus / "bees.txt").write_text("Honey bees dance to show where flowers are.\n")
    (corpus / "prices.html").write_text(HTML, encoding="utf-8")
    settings = build_settings({"index_dir": tmp_path / "index"}, use_env=False)
    report = run_ingest(settings, Options([corpus]), lambda: real_embedder)
    assert report.added == 3 and not report.failed
    snapshot = open_current(settings.index_dir)
    try:
        hybrid = HybridRetriever(snapshot, real_embedder, TokenizerSettings(), RetrievalSettings())
        question = "What is the mean temperature in Vandorf117?"
        row = "| Q117 | Vandorf117 | 40 mm | 17 °C |"
        # BM25 finds the one chunk naming the town; the dense model reads
        # "Vandorf117" as word pieces common to every row, so in the fused
        # ranking the row's chunk is among the first few, not always first.
        [first] = hybrid.search(question, 1, FusionMode.SPARSE).hits
        fused = hybrid.search(question, 5, FusionMode.RRF).hits
        assert first.position in [h.position for h in fused]
        [top] = load_passages(snapshot.store, [first.position])
        assert row in top.text
        assert top.text.startswith(header_of(table) + "\n"), "the header names the column"
        stored = snapshot.store.document(top.doc_id)
        assert stored is not None
        assert stored.text[top.char_start : top.char_end] == top.text[top.prefix_chars :]
        assert row in stored.text[top.char_start : top.char_end]
        outcome = hybrid.search("price of apples in 2023 Q2", 3, FusionMode.RRF)
        [top] = load_passages(snapshot.store, [outcome.hits[0].position])
        assert Path(top.source_path).name == "prices.html"
        assert "| Apple \\| green | 1.10 | 1.20 |" in top.text
    finally:
        snapshot.close()
