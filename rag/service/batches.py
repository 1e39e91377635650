"""OpenAI's Batch API over the chat route: files of requests answered in the background.

A client uploads a JSON-lines file (`POST /v1/files`, purpose `batch`), each
line `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`,
then creates a batch of it (`POST /v1/batches`). One worker thread answers
the batches one at a time and one line at a time, so a batch never takes more
of the service than one user asking in turn. The output file holds a line per
input line, `{"id", "custom_id", "response": {"status_code", "request_id",
"body"}, "error"}`; a bad line gets an error naming its line number, and the
others are answered all the same.

Files and batches live in `service.batch_dir`: each file's bytes under its id,
each file's and batch's record in `<id>.json`, and a running batch's answered
lines in `<id>.partial.jsonl`, appended one at a time. A service restarted on
the same folder lists what it had and resumes the batches it had not finished
from the first line not yet answered. The default folder is a temporary one,
kept only while the service runs.
"""

from __future__ import annotations

import json
import logging
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("rag.service")
ENDPOINT = "/v1/chat/completions"
UNFINISHED = ("validating", "in_progress", "cancelling")

# Answers one chat request body for the key whose digest is given: (status, body).
LineRunner = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


class BatchNotFoundError(LookupError):
    pass


class BatchRefusedError(ValueError):
    pass


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: int
    object: str = "file"
    status: str = "processed"
    owner: str = ""  # the SHA-256 of the key that made it; never shown

    def data(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "owner"}


@dataclass
class Batch:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    created_at: int
    status: str = "validating"
    object: str = "batch"
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    completed_at: int | None = None
    cancelled_at: int | None = None
    request_counts: dict[str, int] = field(
        default_factory=lambda: {"total": 0, "completed": 0, "failed": 0}
    )
    metadata: dict[str, str] | None = None
    errors: dict[str, Any] | None = None
    owner: str = ""  # the SHA-256 of the key that made it; never shown

    def data(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "owner"}


class BatchStore:
    def __init__(
        self, folder: Path | None, run_line: LineRunner, max_bytes: int, max_lines: int
    ) -> None:
        self._folder = folder or Path(tempfile.mkdtemp(prefix="rag-batches-"))
        self._folder.mkdir(parents=True, exist_ok=True)
        self._run_line = run_line
        self.max_bytes = max_bytes
        self._max_lines = max_lines
        self._files: dict[str, StoredFile] = {}
        self._batches: dict[str, Batch] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._load()
        self._worker = threading.Thread(target=self._work, name="rag-batches", daemon=True)
        self._worker.start()

    def add_file(self, owner: str, filename: str, purpose: str, data: bytes) -> StoredFile:
        if len(data) > self.max_bytes:
            raise BatchRefusedError(f"file of {len(data)} bytes is over {self.max_bytes}")
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        stored = StoredFile(file_id, filename, purpose, len(data), _now(), owner=owner)
        (self._folder / stored.id).write_bytes(data)
        self._save(stored)
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def file(self, file_id: str, owner: str | None) -> StoredFile:
        """The file, if `owner` made it (None: whoever did)."""
        with self._lock:
            found = self._files.get(file_id)
        if found is None or (owner is not None and found.owner != owner):
            raise BatchNotFoundError(f"no file {file_id!r}")
        return found

    def content(self, file_id: str, owner: str | None) -> bytes:
        return (self._folder / self.file(file_id, owner).id).read_bytes()

    def create(
        self, owner: str, input_file_id: str, endpoint: str, window: str, meta: Any
    ) -> Batch:
        if endpoint != ENDPOINT:
            raise BatchRefusedError(f"endpoint {endpoint!r} is not batched: use {ENDPOINT}")
        lines = self.content(input_file_id, owner).decode("utf-8", "replace").splitlines()
        if len(lines) > self._max_lines:
            raise BatchRefusedError(f"{len(lines)} lines is over {self._max_lines}")
        batch_id = f"batch_{uuid.uuid4().hex[:24]}"
        batch = Batch(batch_id, input_file_id, endpoint, window, _now(), owner=owner)
        batch.metadata = meta if isinstance(meta, dict) else None
        self._save(batch)
        with self._lock:
            self._batches[batch.id] = batch
        self._queue.put(batch.id)
        return batch

    def get(self, batch_id: str, owner: str | None) -> Batch:
        """The batch, if `owner` made it (None: whoever did)."""
        with self._lock:
            found = self._batches.get(batch_id)
        if found is None or (owner is not None and found.owner != owner):
            raise BatchNotFoundError(f"no batch {batch_id!r}")
        return found

    def all(self, owner: str) -> list[Batch]:
        with self._lock:
            mine = [b for b in self._batches.values() if b.owner == owner]
        return sorted(mine, key=lambda b: -b.created_at)

    def cancel(self, batch_id: str, owner: str) -> Batch:
        batch = self.get(batch_id, owner)
        if batch.status in ("validating", "in_progress"):
            batch.status = "cancelling"
            self._save(batch)
        return batch

    def close(self) -> None:
        self._queue.put(None)

    def _work(self) -> None:
        while (batch_id := self._queue.get()) is not None:
            batch = self.get(batch_id, None)
            try:
                self._run(batch)
            except Exception:  # a batch that breaks must not stop the worker
                log.exception("batch %s failed", batch.id)
                batch.status = "failed"
                batch.errors = {"object": "list", "data": [{"message": "internal error"}]}
                self._save(batch)

    def _run(self, batch: Batch) -> None:
        if batch.status == "cancelling":
            batch.status, batch.cancelled_at = "cancelled", _now()
            self._save(batch)
            return
        lines = self.content(batch.input_file_id, None).decode("utf-8", "replace").splitlines()
        numbered = [(n, raw) for n, raw in enumerate(lines, start=1) if raw.strip()]
        partial = self._folder / f"{batch.id}.partial.jsonl"
        records = _answered(partial)
        batch.request_counts = _counts(len(numbered), records.values())
        batch.status, batch.in_progress_at = "in_progress", batch.in_progress_at or _now()
        self._save(batch)
        with partial.open("a", encoding="utf-8") as out:
            for number, raw in numbered:
                if batch.status == "cancelling":
                    break
                if number in records:
                    continue
                records[number] = self._line(batch.owner, number, raw)
                out.write(json.dumps({"line": number, "record": records[number]}) + "\n")
                out.flush()
                batch.request_counts = _counts(len(numbered), records.values())
                self._save(batch)
        self._finish(batch, [records[n] for n, _ in numbered if n in records])
        partial.unlink(missing_ok=True)

    def _finish(self, batch: Batch, records: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(record) + "\n" for record in records).encode()
        name = f"{batch.id}_output.jsonl"
        batch.output_file_id = self.add_file(batch.owner, name, "batch_output", text).id
        if batch.status == "cancelling":
            batch.status, batch.cancelled_at = "cancelled", _now()
        else:
            batch.status, batch.completed_at = "completed", _now()
        self._save(batch)

    def _save(self, record: StoredFile | Batch) -> None:
        """The record in `<id>.json`, replaced whole so a kill never leaves half of it."""
        path = self._folder / f"{record.id}.json"
        spare = path.with_suffix(f".{threading.get_ident()}.tmp")
        spare.write_text(json.dumps(asdict(record)), encoding="utf-8")
        spare.replace(path)

    def _load(self) -> None:
        """What an earlier service left in the folder; unfinished batches are queued."""
        for path in sorted(self._folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("object") == "file":
                    self._files[data["id"]] = StoredFile(**data)
                elif data.get("object") == "batch":
                    self._batches[data["id"]] = Batch(**data)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.warning("batch record %s is unreadable and skipped: %s", path.name, exc)
        unfinished = [b for b in self._batches.values() if b.status in UNFINISHED]
        for batch in sorted(unfinished, key=lambda b: b.created_at):
            self._queue.put(batch.id)

    def _line(self, owner: str, number: int, raw: str) -> dict[str, Any]:
        record: dict[str, Any] = {"id": f"batch_req_{uuid.uuid4().hex[:24]}", "custom_id": None}
        try:
            request = json.loads(raw)
        except json.JSONDecodeError as exc:
            return {**record, "response": None, "error": _error(number, f"not JSON ({exc.msg})")}
        if not isinstance(request, dict):
            return {**record, "response": None, "error": _error(number, "not a JSON object")}
        record["custom_id"] = request.get("custom_id")
        url, body = request.get("url"), request.get("body")
        if url != ENDPOINT or not isinstance(body, dict):
            said = f'"url" must be {ENDPOINT} and "body" a chat request'
            return {**record, "response": None, "error": _error(number, said)}
        status, reply = self._run_line(owner, body)
        response = {"status_code": status, "request_id": record["id"], "body": reply}
        failed = None if status == 200 else _error(number, str(reply.get("error", reply)))
        return {**record, "response": response, "error": failed}


def _answered(partial: Path) -> dict[int, dict[str, Any]]:
    """The records a batch already wrote, by line number; a torn last line is redone."""
    if not partial.exists():
        return {}
    done: dict[int, dict[str, Any]] = {}
    for line in partial.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            done[int(entry["line"])] = dict(entry["record"])
        except (ValueError, KeyError, TypeError):
            continue
    return done


def _counts(total: int, records: Collection[dict[str, Any]]) -> dict[str, int]:
    failed = sum(1 for record in records if record["error"] is not None)
    return {"total": total, "completed": len(records) - failed, "failed": failed}


def _error(number: int, message: str) -> dict[str, str]:
    return {"code": "invalid_request", "message": f"line {number}: {message}"}


def _now() -> int:
    return int(time.time())
