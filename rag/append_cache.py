"""Strings by key in a JSON-lines file, appended to as each is added.

For work that is slow to redo (the LLM's synthetic questions, RAPTOR's
summaries): an interrupted run keeps every line it finished, and the line a
kill cut short is skipped on reading and ended before the next is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


class AppendCache:
    def __init__(self, path: Path, key: str = "key", value: str = "value") -> None:
        self._path, self._key, self._value = path, key, value
        self._known: dict[str, str] = dict(self._read())
        self._end_cut_line()

    def _end_cut_line(self) -> None:
        """A line an interrupted run left unfinished is ended, so the next one stands alone."""
        if self._path.is_file() and self._path.stat().st_size:
            with self._path.open("rb+") as handle:
                handle.seek(-1, 2)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")

    def _read(self) -> Iterator[tuple[str, str]]:
        if not self._path.is_file():
            return
        for line in self._path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                yield str(row[self._key]), str(row[self._value])
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by an interrupted run

    def get(self, key: str) -> str | None:
        return self._known.get(key)

    def add(self, key: str, value: str) -> None:
        self._known[key] = value
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({self._key: key, self._value: value}) + "\n")
