import json
from pathlib import Path

import pytest

from eval.run_dir import RunDir
from rag.errors import ConfigError


def test_a_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = RunDir(out, "retrieval", {"dataset": "x", "k": 1}, resume=False)
    first.add("q1|rrf", {"kind": "query", "id": "q1", "ndcg@10": 0.5})
    first.add("q2|rrf", {"kind": "query", "id": "q2", "ndcg@10": 1.0})
    # A run killed while writing leaves a partial last line.
    with (out / "items.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"key": "q3|rrf", "kind": "qu')
    with pytest.raises(ConfigError, match="already holds a run"):
        RunDir(out, "retrieval", {"dataset": "x", "k": 1}, resume=False)
    with pytest.raises(ConfigError, match=r"configuration differs \(k\)"):
        RunDir(out, "retrieval", {"dataset": "x", "k": 2}, resume=True)
    again = RunDir(out, "retrieval", {"dataset": "x", "k": 1}, resume=True)
    assert again.done("q1|rrf") and again.done("q2|rrf") and not again.done("q3|rrf")
    assert again.meta["started"] == first.meta["started"] and again.meta["resumed"]
    again.add("q3|rrf", {"kind": "query", "id": "q3", "ndcg@10": 0.0})
    assert RunDir(out, "retrieval", {"dataset": "x", "k": 1}, resume=True).done("q3|rrf")
    results = json.loads(again.finish({"mean": 0.75}, "# table\n").read_text(encoding="utf-8"))
    assert [i["id"] for i in results["items"]] == ["q1", "q2", "q3"]
    assert results["summary"] == {"mean": 0.75}
    assert results["config"] == {"dataset": "x", "k": 1}
    assert results["versions"]["python"] and "git_commit" in results
    assert (out / "summary.md").read_text(encoding="utf-8") == "# table\n"
