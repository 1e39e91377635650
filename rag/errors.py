"""Every error the system raises on purpose, in one tree.

    RagError
    ├── ConfigError              bad settings or command-line values
    ├── LoadError                one input file could not be read (ingest goes on)
    │   ├── UnsupportedFileError
    │   ├── EmptyFileError
    │   ├── BinaryFileError
    │   ├── CorruptFileError
    │   ├── EncryptedFileError
    │   ├── NoTextError
    │   ├── LimitExceededError   over an ingest.max_* bound or the parse deadline
    │   └── SymlinkError         a symbolic link that was not followed
    ├── UploadTooLargeError      an upload passed service.max_upload_mb
    ├── JobConflictError         an ingest of the collection is already running
    ├── GeneratorFailedError     the answer's generator failed (down, timed out, garbage)
    ├── ClusterError             the Ray cluster was unreachable or its work failed for good
    └── IndexStateError
        ├── IndexNotFoundError
        │   └── CollectionNotFoundError   no such collection (or none the key may read)
        ├── IndexLockedError     another ingest holds the index
        ├── IndexMismatchError   the index was built with other settings
        ├── IndexCorruptError    an index file is missing or damaged
        └── IndexWriteError      a new generation could not be written (disk full, read-only)

Each error carries a `remedy`: what the user can do about it. Entry points map
error classes (never message text) to exit codes in `rag.cli.exit_codes`.
"""

from __future__ import annotations

from pathlib import Path


class RagError(Exception):
    """Base class; `remedy` says what to do about it."""

    remedy: str = ""

    def __init__(self, message: str, remedy: str | None = None) -> None:
        super().__init__(message)
        if remedy is not None:
            self.remedy = remedy

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.remedy})" if self.remedy else message


class ConfigError(RagError):
    """A setting or command-line value is invalid."""


class LoadError(RagError):
    """One file could not be loaded; the rest of the corpus is still ingested."""

    reason: str = "could not be read"

    def __init__(self, path: Path | str, detail: str = "", remedy: str | None = None) -> None:
        self.path = str(path)
        self.detail = detail
        text = f"{self.reason}: {detail}" if detail else self.reason
        super().__init__(text, remedy)


class UnsupportedFileError(LoadError):
    reason = "unsupported file type"


class EmptyFileError(LoadError):
    reason = "empty file"


class BinaryFileError(LoadError):
    reason = "binary data, not text"


class CorruptFileError(LoadError):
    reason = "corrupt or truncated file"


class EncryptedFileError(LoadError):
    reason = "encrypted"
    remedy = "pass the document's password with --password"


class NoTextError(LoadError):
    reason = "no text layer: scanned or form-only?"
    remedy = "run OCR on the file first"


class LimitExceededError(LoadError):
    reason = "over an ingest limit"
    remedy = "if the file is genuine, raise the setting named"


class SymlinkError(LoadError):
    reason = "symbolic link not followed"


class UploadTooLargeError(RagError):
    remedy = "send fewer or smaller files at a time, or raise service.max_upload_mb"


class JobConflictError(RagError):
    remedy = "wait for it: GET /v1/jobs/{id} reports its progress"


class GeneratorFailedError(RagError):
    """The generator backend gave no usable answer; the message says why."""


class ClusterError(RagError):
    """Work sent to the Ray cluster failed after its retries, or the cluster is unreachable."""

    remedy = "check the cluster (`ray status`); the live index is unchanged"


class IndexStateError(RagError):
    """Something is wrong with the index on disk."""


class IndexNotFoundError(IndexStateError):
    remedy = "build one with `rag ingest PATH --index DIR`"


class CollectionNotFoundError(IndexNotFoundError):
    remedy = "list them with `rag index collections`, or ingest with `--collection NAME`"


class IndexLockedError(IndexStateError):
    remedy = "wait for the other ingest to finish, then run again"


class IndexMismatchError(IndexStateError):
    remedy = "use the settings the index was built with, or ingest into a new --index"


class IndexCorruptError(IndexStateError):
    remedy = "re-run `rag ingest`; the previous generation is still intact"


class IndexWriteError(IndexStateError):
    remedy = "free disk space or make the index folder writable; the previous generation is intact"
