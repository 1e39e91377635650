"""`--collection` and `rag index collections`, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli.main import main

pytestmark = pytest.mark.slow


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def corpus(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def sources(out: str) -> set[str]:
    return {Path(r["source"]).name for r in json.loads(out)["results"]}


def test_collections_keep_their_documents_apart(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    index = tmp_path / "index"
    hr = corpus(
        tmp_path / "hr",
        {
            "leave.txt": "Parental leave lasts sixteen weeks on full salary.",
            "expenses.txt": "Travel expenses are reimbursed within thirty days of a receipt.",
        },
    )
    default = corpus(tmp_path / "docs", {"kiln.txt": "A pottery kiln fires stoneware clay."})
    assert run(capsys, "index", "collections", "--index", index, "--json")[1] == "[]\n"
    assert "no collections" in run(capsys, "index", "collections", "--index", index)[1]
    assert (
        run(capsys, "ingest", hr, "--index", index, "--collection", "hr", "--no-progress")[0] == 0
    )
    assert run(capsys, "ingest", default, "--index", index, "--no-progress")[0] == 0

    code, out, _ = run(capsys, "index", "collections", "--index", index, "--json")
    listed = {c["name"]: c for c in json.loads(out)}
    assert code == 0 and list(listed) == ["default", "hr"]
    assert listed["hr"]["documents"] == 2 and listed["default"]["documents"] == 1
    assert all(c["chunks"] >= 1 and c["generation"] == 1 for c in listed.values())
    table = run(capsys, "index", "collections", "--index", index)[1].splitlines()
    assert table[0].split() == ["collection", "documents", "chunks", "generation"]
    assert [line.split()[0] for line in table[1:]] == ["default", "hr"]

    question = "how long is parental leave"
    code, out, _ = run(capsys, "search", question, "--index", index, "--collection", "hr", "--json")
    assert code == 0 and sources(out) == {"leave.txt", "expenses.txt"}
    assert sources(run(capsys, "search", question, "--index", index, "--json")[1]) == {"kiln.txt"}
    code, out, _ = run(capsys, "index", "list", "--index", index, "--collection", "hr", "--json")
    assert code == 0
    assert {Path(json.loads(line)["source"]).name for line in out.splitlines()} == {
        "leave.txt",
        "expenses.txt",
    }

    code, _, err = run(capsys, "search", question, "--index", index, "--collection", "Bad/Name")
    assert code == 2 and "'Bad/Name' is not allowed" in err and "lowercase letters" in err
    code, _, err = run(capsys, "search", question, "--index", index, "--collection", "nope")
    assert code == 3 and "no collection 'nope'" in err and "rag index collections" in err
    code, _, err = run(capsys, "index", "stats", "--index", index, "--collection", "nope")
    assert code == 3 and "no collection 'nope'" in err
