"""Front matter at the top of a Markdown file becomes its metadata."""

from __future__ import annotations

from pathlib import Path

from ingest import front_matter
from ingest.loaders.markdown import MarkdownLoader
from rag.settings import IngestSettings


def test_front_matter_is_metadata_and_leaves_the_text(tmp_path: Path) -> None:
    path = tmp_path / "leave.md"
    path.write_text(
        "---\ntitle: 'Leave policy'\nteam: hr\nformat: pdf\ntags:\n  - a\n# note\n---\n\n"
        "# Parental leave\n\nTwenty-six weeks.\n",
        encoding="utf-8",
    )
    document = next(MarkdownLoader().load(path, IngestSettings()))
    assert document.title == "Leave policy"
    assert document.metadata == {"team": "hr", "format": "markdown"}  # `format` is the loader's
    assert document.text.startswith("# Parental leave") and "team" not in document.text
    assert document.headings[0].path == ("Parental leave",)


def test_text_without_front_matter_is_untouched() -> None:
    for text in ("# Title\n\nbody", "---\nnot closed\n\nbody", "", "---"):
        assert front_matter.split(text) == ({}, text)
    assert front_matter.split("---\na: 1\n---") == ({"a": "1"}, "")


def test_rendered_metadata_reads_back_and_bad_keys_are_named() -> None:
    metadata = {"team": "platform", "owner.email": "ops@example.com"}
    assert front_matter.check(metadata) is None
    assert front_matter.split(front_matter.render(metadata) + "body") == (metadata, "body")
    assert "not allowed" in (front_matter.check({"bad key": "x"}) or "")
    assert "one line" in (front_matter.check({"k": "two\nlines"}) or "")
    assert "not allowed" in (front_matter.check({"format": "x"}) or "")
