"""What changed since the live generation: per file, then per document."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rag.documents import Document
from rag.hashing import file_sha256
from rag.index.store import DocumentRecord, FileRecord


@dataclass
class Previous:
    """The live generation's files and documents, grouped for lookup."""

    files: dict[str, FileRecord] = field(default_factory=dict)
    docs_by_source: dict[str, list[DocumentRecord]] = field(
        default_factory=lambda: defaultdict(list)
    )

    @classmethod
    def from_rows(cls, files: dict[str, FileRecord], docs: list[DocumentRecord]) -> Previous:
        previous = cls(files=files)
        for row in docs:
            previous.docs_by_source[row.source_path].append(row)
        return previous


def file_record(path: Path) -> FileRecord:
    stat = path.stat()
    return FileRecord(str(path), stat.st_size, stat.st_mtime_ns, file_sha256(path))


def same_stat(path: Path, record: FileRecord | None) -> bool:
    if record is None:
        return False
    stat = path.stat()
    return stat.st_size == record.size and stat.st_mtime_ns == record.mtime_ns


@dataclass
class DocChanges:
    new: list[Document] = field(default_factory=list)  # added or updated: to chunk and embed
    kept: list[DocumentRecord] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    removed: int = 0


def diff_documents(loaded: list[Document], old: list[DocumentRecord], force: bool) -> DocChanges:
    """Compare a file's freshly loaded documents with its stored ones."""
    old_by_id = {row.doc_id: row for row in old}
    changes = DocChanges()
    for doc in loaded:
        before = old_by_id.pop(doc.doc_id, None)
        if before is not None and before.content_hash == doc.content_hash and not force:
            changes.kept.append(before)
        else:
            changes.new.append(doc)
            if before is None:
                changes.added += 1
            else:
                changes.updated += 1
    changes.removed = len(old_by_id)
    return changes
