"""The ingest run with a fake embedder: incremental updates, pruning, removal,
refusals. The real model and real processes are exercised in test_cli.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.remove import remove_documents
from ingest.report import IngestReport
from ingest.run import Options, run_ingest
from rag.errors import IndexLockedError, IndexMismatchError
from rag.index import generations
from rag.index.snapshot import open_current
from rag.settings import Settings, build_settings
from tests.fakes import KeywordEmbedder
from tests.pdfs import text_pdf


def settings_for(index: Path, **groups: dict[str, object]) -> Settings:
    return build_settings({"index_dir": index, **groups}, use_env=False)


def ingest(
    settings: Settings,
    *paths: Path,
    prune: bool = False,
    rebuild: bool = False,
    embedder: KeywordEmbedder | None = None,
) -> IngestReport:
    fake = embedder or KeywordEmbedder()
    return run_ingest(settings, Options(list(paths), prune=prune, rebuild=rebuild), lambda: fake)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "cats.md").write_text("# Cats\n\nCats purr when content. They sleep a lot.\n")
    (folder / "ships.txt").write_text("Ships carry cargo across oceans. Sailors steer them.\n")
    text_pdf(folder / "trees.pdf", ["Oak trees live for centuries.", "Pines keep needles."])
    (folder / "notes.xlsx").write_bytes(b"PK\x03\x04 not supported")
    return folder


def positions_by_text(index: Path) -> dict[str, np.ndarray]:
    snapshot = open_current(index)
    try:
        return {
            text: np.array(snapshot.embeddings[pos])
            for pos, text, _ in snapshot.store.chunk_texts()
        }
    finally:
        snapshot.close()


def test_first_ingest_builds_a_complete_generation(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    report = ingest(settings, corpus)
    assert (report.added, report.failed, report.files_skipped) == (3, [], 1)
    assert report.generation == 1
    snapshot = open_current(settings.index_dir)
    try:
        counts = snapshot.store.counts()
        assert counts["documents"] == 3 and counts["chunks"] == report.chunks_total
        [shard] = snapshot.shards
        assert shard.dense.ntotal == len(snapshot.embeddings) == counts["chunks"]
        assert snapshot.manifest.data["counts"]["chunks"] == counts["chunks"]
        pdf = next(d for d in snapshot.store.documents() if d.source_path.endswith(".pdf"))
        pages = {(c.page_start, c.page_end) for c in snapshot.store.chunks_of(pdf.doc_id)}
        assert pages <= {(1, 1), (1, 2), (2, 2)} and pages
    finally:
        snapshot.close()


def test_rerun_on_unchanged_folder_does_no_model_work(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ingest(settings, corpus)
    fake = KeywordEmbedder()
    report = ingest(settings, corpus, embedder=fake)
    assert (report.added, report.updated, report.unchanged, report.generation) == (0, 0, 3, None)
    assert fake.calls == 0
    touched = corpus / "ships.txt"
    touched.write_text(touched.read_text())  # new mtime, same bytes
    report = run_ingest(settings, Options([corpus]), lambda: pytest.fail("model loaded"))
    assert (report.updated, report.unchanged) == (0, 3)


def test_changed_file_is_rechunked_and_only_new_text_embedded(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ingest(settings, corpus)
    before = positions_by_text(settings.index_dir)
    with (corpus / "ships.txt").open("a") as handle:
        handle.write("\nLighthouses warn ships about rocks.\n")
    fake = KeywordEmbedder()
    report = ingest(settings, corpus, embedder=fake)
    assert (report.updated, report.unchanged, report.generation) == (1, 2, 2)
    assert fake.texts_embedded == report.chunks_embedded == 1
    after = positions_by_text(settings.index_dir)
    assert any("Lighthouses" in text for text in after)
    for text, vector in before.items():
        if text in after:
            np.testing.assert_array_equal(after[text], vector)


def test_deleted_file_stays_until_pruned(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ingest(settings, corpus)
    (corpus / "cats.md").unlink()
    assert ingest(settings, corpus).unchanged == 2 + 1
    report = ingest(settings, corpus, prune=True)
    assert (report.removed, report.unchanged) == (1, 2)
    snapshot = open_current(settings.index_dir)
    try:
        assert all("cats" not in d.source_path for d in snapshot.store.documents())
        assert "cats.md" not in " ".join(snapshot.store.files())
    finally:
        snapshot.close()


def test_incremental_result_equals_clean_ingest(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "inc")
    ingest(settings, corpus)
    (corpus / "cats.md").write_text("# Cats\n\nCats hunt at dawn.\n")
    (corpus / "ships.txt").unlink()
    (corpus / "birds.txt").write_text("Birds migrate south in winter.\n")
    ingest(settings, corpus, prune=True)
    clean = settings_for(tmp_path / "clean")
    ingest(clean, corpus)
    a, b = open_current(settings.index_dir), open_current(clean.index_dir)
    try:
        chunks_a = [(p, t) for p, t, _ in a.store.chunk_texts()]
        chunks_b = [(p, t) for p, t, _ in b.store.chunk_texts()]
        assert chunks_a == chunks_b
        ids = [[d.doc_id for d in s.store.documents()] for s in (a, b)]
        assert ids[0] == ids[1]
        np.testing.assert_array_equal(np.asarray(a.embeddings), np.asarray(b.embeddings))
    finally:
        a.close()
        b.close()


def test_bad_files_are_reported_and_the_rest_ingested(corpus: Path, tmp_path: Path) -> None:
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "junk.txt").write_bytes(bytes(range(256)) * 8)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    report = ingest(settings_for(tmp_path / "index"), corpus)
    failed = {Path(path).name: reason for path, reason in report.failed}
    assert set(failed) == {"empty.txt", "junk.txt", "broken.pdf"}
    assert "zero bytes" in failed["empty.txt"] and "binary" in failed["junk.txt"]
    assert report.added == 3


def test_file_that_turns_bad_keeps_its_last_good_version(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ingest(settings, corpus)
    (corpus / "trees.pdf").write_bytes(b"%PDF-1.4 garbage")
    report = ingest(settings, corpus)
    assert [Path(p).name for p, _ in report.failed] == ["trees.pdf"]
    snapshot = open_current(settings.index_dir)
    try:
        assert any(d.source_path.endswith("trees.pdf") for d in snapshot.store.documents())
    finally:
        snapshot.close()


def test_a_damaged_live_generation_is_rebuilt_by_the_next_ingest(
    corpus: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    clean = tmp_path / "clean"
    ingest(settings_for(index), corpus)
    ingest(settings_for(clean), corpus)
    live = generations.current_generation(index)
    faiss_file = live / "dense.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    report = ingest(settings_for(index), corpus)
    assert report.generation == 2 and report.chunks_embedded == report.chunks_new > 0
    assert any("damaged" in message and "dense.faiss" in message for _, message in report.warnings)
    rebuilt, reference = positions_by_text(index), positions_by_text(clean)
    assert rebuilt.keys() == reference.keys()
    assert all(np.array_equal(rebuilt[k], reference[k]) for k in reference)


def test_remove_one_document(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    ingest(settings, corpus)
    removed = remove_documents(settings, [str(corpus / "ships.txt")])
    assert len(removed) == 1
    snapshot = open_current(settings.index_dir)
    try:
        assert [d.doc_id for d in snapshot.store.documents() if d.doc_id in removed] == []
        assert snapshot.store.counts()["documents"] == 2
    finally:
        snapshot.close()


def test_changed_chunking_is_refused_naming_the_field(corpus: Path, tmp_path: Path) -> None:
    ingest(settings_for(tmp_path / "index"), corpus)
    other = settings_for(tmp_path / "index", chunking={"size": 64})
    with pytest.raises(IndexMismatchError, match=r"chunking\.size.*200.*64"):
        ingest(other, corpus)
    report = ingest(other, corpus, rebuild=True)
    assert report.updated == 3 and report.chunks_embedded <= report.chunks_new


def test_second_ingest_is_refused_while_one_holds_the_lock(corpus: Path, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "index")
    with (
        generations.ingest_lock(settings.index_dir),
        pytest.raises(IndexLockedError, match="another ingest"),
    ):
        ingest(settings, corpus)


def test_old_generations_are_pruned_and_stale_partials_cleaned(
    corpus: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path / "index")
    for word in ("one", "two", "three"):
        (corpus / "ships.txt").write_text(f"Ships version {word}.\n")
        ingest(settings, corpus)
    root = settings.index_dir / generations.GENERATIONS
    stale = root / "000009.partial"
    stale.mkdir()
    (corpus / "ships.txt").write_text("Ships version four.\n")
    ingest(settings, corpus)
    assert sorted(p.name for p in root.iterdir()) == ["000003", "000004"]
    shutil.rmtree(corpus)
