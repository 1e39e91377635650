"""Answering a file of questions: JSON lines in, JSON lines out, resumable.

Each input line is an object with a `question` and, optionally, an `id`
(default: its line number). Each output line is `{"id", "line", "answer"}`
or, for a line that cannot be answered, `{"id", "line", "error"}` saying
which line and why; the other lines are answered all the same. Every record
is flushed to disk as it is written, so a run that is killed can be started
again with the same arguments: the ids already written are not redone, and a
last line torn by the kill is cut off first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.errors import ConfigError, RagError


@dataclass(frozen=True)
class BatchLine:
    line: int
    id: str
    question: str | None
    error: str | None = None


@dataclass
class BatchReport:
    answered: int = 0
    refused: int = 0
    failed: int = 0
    skipped: int = 0  # written by an earlier run

    def summary(self) -> str:
        return (
            f"{self.answered} answered, {self.refused} refused, {self.failed} failed, "
            f"{self.skipped} already done"
        )


def read_questions(path: Path) -> list[BatchLine]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", "pass a UTF-8 JSON-lines file") from None
    found: list[BatchLine] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            item = _parse(number, raw, seen)
            seen.setdefault(item.id, number)
            found.append(item)
    return found


def _parse(number: int, raw: str, seen: dict[str, int]) -> BatchLine:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        return BatchLine(number, str(number), None, f"line {number}: not JSON ({exc.msg})")
    if not isinstance(record, dict):
        return BatchLine(number, str(number), None, f"line {number}: not a JSON object")
    ident = str(record.get("id", number))
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        return BatchLine(number, ident, None, f'line {number}: no "question" text')
    if ident in seen:
        return BatchLine(
            number,
            f"{ident}#{number}",
            None,
            f"line {number}: id {ident!r} repeats line {seen[ident]}",
        )
    return BatchLine(number, ident, question)


def done_ids(out: Path) -> set[str]:
    """Ids the output file already holds; a torn last line is cut off."""
    if not out.exists():
        return set()
    data = out.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with out.open("r+b") as handle:
            handle.truncate(end)
    ids = set()
    for raw in data[:end].splitlines():
        try:
            ids.add(str(json.loads(raw)["id"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return ids


def run_batch(
    lines: list[BatchLine],
    answer: Callable[[str], dict[str, Any]],
    out: Path,
    progress: bool,
) -> BatchReport:
    """Answer the lines not yet in `out`, appending one record each."""
    report = BatchReport()
    done = done_ids(out)
    todo = [item for item in lines if item.id not in done]
    report.skipped = len(lines) - len(todo)
    with out.open("a", encoding="utf-8") as handle:
        for record in _records(todo, answer, report, progress):
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    return report


def _records(
    todo: list[BatchLine],
    answer: Callable[[str], dict[str, Any]],
    report: BatchReport,
    progress: bool,
) -> Iterator[dict[str, Any]]:
    for item in tqdm(todo, desc="questions", disable=not progress):
        head = {"id": item.id, "line": item.line}
        if item.question is None:
            report.failed += 1
            yield {**head, "error": item.error}
            continue
        try:
            data = answer(item.question)
        except RagError as error:
            report.failed += 1
            yield {**head, "error": f"line {item.line}: {error}"}
            continue
        if data["refused"]:
            report.refused += 1
        else:
            report.answered += 1
        yield {**head, "answer": data}
