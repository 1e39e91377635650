"""What an ingest did, and the summary table printed at its end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    files_read: int = 0
    files_skipped: int = 0
    pages: int = 0
    chunks_new: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    generation: int | None = None
    seconds: float = 0.0
    parse_seconds: float = 0.0  # spent parsing, beside the embedding when in a worker
    summaries: int | None = None  # RAPTOR summaries in the index, when it has a tree
    summaries_written: int = 0  # by the LLM in this run (the rest were reused)
    summary_seconds: float = 0.0  # LLM time spent writing them
    marks: list[tuple[str, float]] = field(default_factory=list)

    def mark(self, phase: str) -> None:
        """Start `phase` now (ending the previous one)."""
        self.marks.append((phase, time.perf_counter()))

    @property
    def phases(self) -> dict[str, float]:
        """Seconds spent in each phase, in order of first entry; phases that
        alternate (loading, chunking, embedding) add up their stretches."""
        ends = [t for _, t in self.marks[1:]] + [time.perf_counter()]
        seconds: dict[str, float] = {}
        for (name, start), end in zip(self.marks, ends, strict=True):
            seconds[name] = seconds.get(name, 0.0) + end - start
        return seconds

    @property
    def phase(self) -> str | None:
        """The phase the run is in now."""
        return self.marks[-1][0] if self.marks else None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def table(self) -> str:
        rows = [
            ("documents added", self.added),
            ("documents updated", self.updated),
            ("documents unchanged", self.unchanged),
            ("documents removed", self.removed),
            ("files failed", len(self.failed)),
            ("files skipped (unsupported)", self.files_skipped),
            ("pages read", self.pages),
            ("chunks new", self.chunks_new),
            ("chunks embedded", self.chunks_embedded),
            ("chunks in index", self.chunks_total),
            *self._summary_rows(),
            ("generation", "unchanged" if self.generation is None else self.generation),
            ("time", f"{self.seconds:.1f} s"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        lines += [f"FAILED   {shown(path)}: {reason}" for path, reason in self.failed]
        lines += [f"WARNING  {shown(path)}: {message}" for path, message in self.warnings]
        return "\n".join(lines)

    def _summary_rows(self) -> list[tuple[str, object]]:
        if self.summaries is None:
            return []
        written = f"{self.summaries_written} ({self.summary_seconds:.1f} s of LLM time)"
        return [("summaries in index", self.summaries), ("summaries written", written)]

    def record(self) -> dict[str, object]:
        """The report as JSON-ready data (`rag ingest --json`)."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": [{"path": path, "reason": reason} for path, reason in self.failed],
            "warnings": [{"path": path, "message": text} for path, text in self.warnings],
            "files_read": self.files_read,
            "files_skipped": self.files_skipped,
            "pages": self.pages,
            "chunks_new": self.chunks_new,
            "chunks_embedded": self.chunks_embedded,
            "chunks_total": self.chunks_total,
            "generation": self.generation,
            "seconds": round(self.seconds, 3),
            "summaries": self.summaries,
            "summaries_written": self.summaries_written,
            "summary_seconds": round(self.summary_seconds, 3),
        }


def shown(path: str) -> str:
    """A file name on one line: a newline or other control character in it is
    escaped ("\\n"), so a name cannot forge or break lines of the report."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in path)
