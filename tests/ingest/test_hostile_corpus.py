"""A folder of hostile files beside good ones, ingested for real: the real
`run_ingest` with the packaged model, in its own process so that its peak
memory (and its parse worker's) can be measured."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.loaders import loader_for
from ingest.scan import scan
from rag.embedding import Embedder
from rag.errors import LimitExceededError
from rag.index.snapshot import open_current
from rag.modes import FusionMode
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.passages import load_passages
from rag.settings import IngestSettings, build_settings
from tests.conftest import ROOT
from tests.ingest import hostile_files as hostile
from tests.pdfs import text_pdf

pytestmark = pytest.mark.slow

# Bounds for this run (settings, as a user would set them); the rest are defaults.
SETTINGS = {
    "max_pdf_stream_mb": 16,
    "parse_timeout_s": 5,
}
# The 1 GiB bomb inflated whole would alone need more than this.
PEAK_MIB_BOUND = 1024

GOOD = {  # file name: (its text, a question whose best hit is this file)
    "glaciers.pdf": (None, "How do glaciers shape valleys?"),
    "broken xref.pdf": (None, "Why do volcanoes erupt lava?"),
    "name with spaces.txt": (
        "Honey bees tell each other where flowers are with a waggle dance.",
        "How do bees communicate where flowers are?",
    ),
    "new\nline.md": (
        "# Tides\n\nOcean tides follow the pull of the Moon.",
        "What causes ocean tides?",
    ),
    "ünïcödé 文档.txt": (
        "Castling moves the chess king two squares towards a rook.",
        "How does castling move the king?",
    ),
    "page.html": (
        "<html><head><title>Bread</title></head><body><p>Yeast makes bread dough rise "
        "by releasing carbon dioxide.</p></body></html>",
        "What makes bread dough rise?",
    ),
    # Blocks and fences by the ten thousand: each loader once took time quadratic
    # in them (20,000 paragraphs: 257 s of HTML; 8,000 fenced headings: 4.7 s).
    "many-paragraphs.html": (
        "<html><body>" + "<p>Tulips bloom in spring after a cold winter.</p>\n" * 20_000,
        "When do tulips bloom?",
    ),
    "many-fences.md": (
        "# Owls\n\nOwls hunt at night.\n\n```\nhoot\n```\n\n" * 20_000,
        "When do owls hunt?",
    ),
}

BAD = {  # file name: what its failure reason must say
    "truncated.pdf": "corrupt or truncated file",
    "bad\nname.pdf": "corrupt or truncated file",
    "garbage.pdf": "corrupt or truncated file",
    "page-tree-loop.pdf": "cyclic page references",
    "flate-bomb.pdf": "ingest.max_pdf_stream_mb = 16",
    "contents-bomb.pdf": "ingest.max_pdf_stream_mb = 16",
    "text-bomb.pdf": "ingest.max_page_chars",
    "form-bomb.pdf": "ingest.max_page_chars",
    "page-count-bomb.pdf": "50,000 pages is over ingest.max_pages",
    "cpu-bomb.pdf": "parsing took over 5 s (ingest.parse_timeout_s)",
    "huge-line.txt": "over ingest.max_document_chars",
    "random.txt": "binary data, not text",
    "random.md": "binary data, not text",
    "png named.md": "binary data, not text",
    "empty.txt": "empty file",
    "self-loop.txt": "it loops back on itself",
    "loop-a.md": "it loops back on itself",
    "loop-b.md": "it loops back on itself",
    "outside.txt": "it points outside",
    "dangling.txt": "its target does not exist",
    "inner-link.txt": "pass --follow-symlinks",
}

CHILD = """
import json, resource, sys
from pathlib import Path
from ingest.run import Options, run_ingest
from rag.embedding import make_embedder
from rag.settings import load_settings

settings = load_settings(Path(sys.argv[1]))
embedder = make_embedder(settings.embedding)
report = run_ingest(settings, Options([Path(sys.argv[2])]), lambda: embedder)
# This process's own peak is VmHWM: ru_maxrss of RUSAGE_SELF keeps the peak of
# the process it was forked from (pytest, gigabytes by then in a full run). The
# parse worker is a child: its peak is in RUSAGE_CHILDREN once it has exited.
status = Path("/proc/self/status").read_text()
hwm_kb = int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:")))
peaks = {"self": hwm_kb / 1024,
         "parse worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
print(json.dumps({"failed": report.failed, "added": report.added, "seconds": report.seconds,
                  "peak_mib": max(peaks.values()), "peaks_mib": peaks,
                  "table": report.table(), "phases": report.phases}))
"""


def write_corpus(folder: Path) -> Path:
    folder.mkdir()
    text_pdf(folder / "glaciers.pdf", ["Glaciers carve U-shaped valleys as they move downhill."])
    good = text_pdf(folder / "whole.pdf", ["Volcanoes erupt when magma rises. " * 30] * 3)
    whole = good.read_bytes()
    good.unlink()
    # Every xref offset and startxref made wrong: pypdf rebuilds the table by scanning.
    broken = re.sub(rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m[1]) + 7), whole)
    (folder / "broken xref.pdf").write_bytes(re.sub(rb"startxref\s+\d+", b"startxref\n9", broken))
    for name, (text, _) in GOOD.items():
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    (folder / "truncated.pdf").write_bytes(whole[: len(whole) // 2])
    (folder / "bad\nname.pdf").write_bytes(whole[:300])
    (folder / "garbage.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    (folder / "page-tree-loop.pdf").write_bytes(hostile.page_tree_loop_pdf())
    (folder / "flate-bomb.pdf").write_bytes(hostile.flate_bomb_pdf(1024))
    (folder / "contents-bomb.pdf").write_bytes(hostile.contents_bomb_pdf())
    (folder / "text-bomb.pdf").write_bytes(hostile.text_bomb_pdf())
    (folder / "form-bomb.pdf").write_bytes(hostile.form_bomb_pdf())
    (folder / "page-count-bomb.pdf").write_bytes(hostile.page_count_bomb_pdf(50_000))
    (folder / "cpu-bomb.pdf").write_bytes(hostile.cpu_bomb_pdf())
    mib = ("lorem ipsum dolor sit amet " * 40_000)[: 1 << 20]
    with (folder / "huge-line.txt").open("w", encoding="ascii") as handle:
        for _ in range(20):  # 20 MiB on one line, no newline anywhere
            handle.write(mib)
    (folder / "random.txt").write_bytes(os.urandom(64 * 1024))
    (folder / "random.md").write_bytes(os.urandom(4096))
    (folder / "png named.md").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(1, 32)) * 200)
    (folder / "empty.txt").write_bytes(b"")
    return folder


def add_links(folder: Path, outside: Path) -> None:
    (folder / "self-loop.txt").symlink_to("self-loop.txt")
    (folder / "loop-a.md").symlink_to("loop-b.md")
    (folder / "loop-b.md").symlink_to("loop-a.md")
    (folder / "outside.txt").symlink_to(outside)
    (folder / "dangling.txt").symlink_to(folder / "gone.txt")
    (folder / "inner-link.txt").symlink_to(folder / "name with spaces.txt")


def run_child(config: Path, corpus: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(config), str(corpus)],
        capture_output=True,
        text=True,
        timeout=300,  # no hang: every file is bounded by the settings above
        check=False,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_hostile_files_are_reported_by_name_and_good_ones_ingested(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("The launch code is 0000. Nobody outside may read this.")
    corpus = write_corpus(tmp_path / "corpus")
    add_links(corpus, secret)
    index = tmp_path / "index"
    config = tmp_path / "rag.toml"
    lines = [f"index_dir = {json.dumps(str(index))}", "[ingest]"]
    config.write_text("\n".join(lines + [f"{k} = {v}" for k, v in SETTINGS.items()]) + "\n")

    result = run_child(config, corpus)

    failed = {Path(path).name: reason for path, reason in result["failed"]}  # type: ignore[attr-defined]
    assert set(failed) == set(BAD), result["table"]
    for name, expected in BAD.items():
        assert expected in failed[name], (name, failed[name])
    assert result["added"] == len(GOOD)
    assert result["peak_mib"] < PEAK_MIB_BOUND, (result["peaks_mib"], result["phases"])  # type: ignore[operator]
    table = str(result["table"])
    assert "FAILED   " + str(corpus / "bad\\nname.pdf") in table  # one line, escaped
    assert not any(line.startswith("name.pdf") for line in table.split("\n"))

    settings = build_settings({"index_dir": index}, use_env=False)
    snapshot = open_current(index)
    try:
        sources = {Path(d.source_path).name for d in snapshot.store.documents()}
        assert sources == set(GOOD)
        retriever = HybridRetriever(snapshot, real_embedder, settings.tokenizer, settings.retrieval)
        for name, (_, question) in GOOD.items():
            hits = retriever.search(question, 1, FusionMode.RRF).hits
            [top] = load_passages(snapshot.store, [hits[0].position])
            assert Path(top.source_path).name == name, question
        texts = " ".join(text for _, text, _ in snapshot.store.chunk_texts())
        assert "launch code" not in texts
    finally:
        snapshot.close()


def test_followed_links_stay_inside_the_folder_and_out_of_loops(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the index")
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "notes.txt").write_text("inside")
    (root / "notes-link.txt").symlink_to(root / "sub" / "notes.txt")
    (root / "sub" / "up").symlink_to(root)  # a loop back to the top
    (root / "away").symlink_to(outside)  # a folder outside
    found = scan([root], follow_symlinks=True)
    assert [p.relative_to(root).as_posix() for p in found.files] == [
        "notes-link.txt",
        "sub/notes.txt",
    ]
    reasons = {Path(e.path).relative_to(root).as_posix(): str(e) for e in found.failures}
    assert reasons == {
        "away": f"symbolic link not followed: it points outside {root}",
        "sub/up": "symbolic link not followed: it leads back to a folder already walked (a loop)",
    }
    unfollowed = scan([root])
    assert [p.name for p in unfollowed.files] == ["notes.txt"]
    assert all("symbolic link not followed" in str(e) for e in unfollowed.failures)
    assert len(unfollowed.failures) == 3


def test_text_limits_refuse_early_and_name_the_setting(tmp_path: Path) -> None:
    small = IngestSettings(max_document_chars=1000)

    def refusal(path: Path) -> str:
        with pytest.raises(LimitExceededError) as caught:
            list(loader_for(path).load(path, small))
        return str(caught.value)

    (tmp_path / "big.txt").write_text("word " * 1000)  # 5,000 bytes: refused unread
    assert "5,000 bytes cannot decode to 1,000 characters" in refusal(tmp_path / "big.txt")
    (tmp_path / "mid.md").write_text("word " * 300)
    assert "1,500 characters of text is over ingest.max_document_chars (1,000)" in refusal(
        tmp_path / "mid.md"
    )
    lines = ['{"_id": "a", "text": "short"}', json.dumps({"_id": "b", "text": "x" * 1001})]
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    assert "line 2: 1,001 characters" in refusal(tmp_path / "corpus.jsonl")
    pdf = text_pdf(tmp_path / "long.pdf", ["Volcanoes erupt when magma rises. " * 12] * 3)
    assert "more than 1,000 characters of text (ingest.max_document_chars)" in refusal(pdf)
    assert "raise the setting named" in refusal(pdf)  # the remedy
