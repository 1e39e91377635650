"""A results folder: one per run, resumable.

    run.json      what ran: suite, configuration, versions, git commit, dataset hashes
    items.jsonl   one line per scored item, appended as it is scored
    results.json  run.json + summary + every item (written at the end)
    summary.md    the tables
    *.png         the plots

A run stopped part way (Ctrl-C, a crash, `--limit`) continues with `--resume`:
items already in `items.jsonl` are not scored again. Resuming refuses a
different configuration, naming the keys that differ.
"""

from __future__ import annotations

import json
import platform
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

PACKAGES = (
    "rag",
    "sentence-transformers",
    "torch",
    "faiss-cpu",
    "llama_cpp_python",
    "numpy",
    "ragas",
    "pytrec-eval-terrier",
)
Item = dict[str, Any]


class RunDir:
    def __init__(self, path: Path, suite: str, config: dict[str, Any], resume: bool) -> None:
        self.path = path
        self.suite = suite
        self._items_file = path / "items.jsonl"
        if self._items_file.exists() and not resume:
            raise ConfigError(
                f"{path} already holds a run",
                "pass --resume to continue it, or choose another --out",
            )
        path.mkdir(parents=True, exist_ok=True)
        self.meta = self._meta(config, resume)
        (path / "run.json").write_text(json.dumps(self.meta, indent=2), encoding="utf-8")
        self._items: dict[str, Item] = {item["key"]: item for item in self._read_items()}

    def _meta(self, config: dict[str, Any], resume: bool) -> dict[str, Any]:
        previous = self.path / "run.json"
        if resume and previous.exists():
            old = json.loads(previous.read_text(encoding="utf-8"))
            differ = sorted(_differences(old.get("config", {}), config))
            if old.get("suite") != self.suite or differ:
                raise ConfigError(
                    f"cannot resume {self.path}: its configuration differs "
                    f"({', '.join(differ) or 'suite ' + str(old.get('suite'))})",
                    "resume with the same options and settings, or start a new --out",
                )
            return {**old, "resumed": [*old.get("resumed", []), _now()]}
        return {
            "suite": self.suite,
            "started": _now(),
            "config": config,
            "versions": versions(),
            "git_commit": git_commit(),
            "machine": {"platform": platform.platform(), "cpus": _cpus()},
        }

    def _read_items(self) -> Iterable[Item]:
        if not self._items_file.exists():
            return []
        text = self._items_file.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            # A run killed mid-write leaves a partial last line: drop it, score that item again.
            lines.pop()
            self._items_file.write_text("".join(lines), encoding="utf-8")
        return [json.loads(line) for line in lines]

    def done(self, key: str) -> bool:
        return key in self._items

    def add(self, key: str, item: Item) -> None:
        record = {"key": key, **item}
        self._items[key] = record
        with self._items_file.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def items(self, kind: str | None = None) -> list[Item]:
        return [i for i in self._items.values() if kind is None or i.get("kind") == kind]

    def finish(self, summary: dict[str, Any], markdown: str) -> Path:
        results = {**self.meta, "finished": _now(), "summary": summary, "items": self.items()}
        out = self.path / "results.json"
        out.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
        (self.path / "summary.md").write_text(markdown, encoding="utf-8")
        return out


def _differences(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """Dotted keys whose values differ (JSON round trip: tuples equal lists)."""
    a, b = _flat(old), _flat(json.loads(json.dumps(new)))
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_commit() -> str | None:
    """The commit of the source tree, with "+dirty" when it has uncommitted changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if status else "")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
