"""OpenAI's Batch API over the chat route: files of requests answered in the background.

A client uploads a JSON-lines file (`POST /v1/files`, purpose `batch`), each
line `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`,
then creates a batch of it (`POST /v1/batches`). One worker thread answers
the batches one at a time and one line at a time, so a batch never takes more
of the service than one user asking in turn. The output file holds a line per
input line, `{"id", "custom_id", "response": {"status_code", "request_id",
"body"}, "error"}`; a bad line gets an error naming its line number, and the
others are answered all the same.

Files and batches live in `service.batch_dir` (a temporary folder by
default) for as long as the service runs.
"""

from __future__ import annotations

import json
import logging
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("rag.service")
ENDPOINT = "/v1/chat/completions"

# Answers one chat request body: (status code, response body).
LineRunner = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


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

    def data(self) -> dict[str, Any]:
        return asdict(self)


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

    def data(self) -> dict[str, Any]:
        return asdict(self)


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
        self._worker = threading.Thread(target=self._work, name="rag-batches", daemon=True)
        self._worker.start()

    def add_file(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        if len(data) > self.max_bytes:
            raise BatchRefusedError(f"file of {len(data)} bytes is over {self.max_bytes}")
        stored = StoredFile(f"file-{uuid.uuid4().hex[:24]}", filename, purpose, len(data), _now())
        (self._folder / stored.id).write_bytes(data)
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def file(self, file_id: str) -> StoredFile:
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            raise BatchNotFoundError(f"no file {file_id!r}")
        return found

    def content(self, file_id: str) -> bytes:
        return (self._folder / self.file(file_id).id).read_bytes()

    def create(self, input_file_id: str, endpoint: str, window: str, meta: Any) -> Batch:
        if endpoint != ENDPOINT:
            raise BatchRefusedError(f"endpoint {endpoint!r} is not batched: use {ENDPOINT}")
        lines = self.content(input_file_id).decode("utf-8", "replace").splitlines()
        if len(lines) > self._max_lines:
            raise BatchRefusedError(f"{len(lines)} lines is over {self._max_lines}")
        batch = Batch(f"batch_{uuid.uuid4().hex[:24]}", input_file_id, endpoint, window, _now())
        batch.metadata = meta if isinstance(meta, dict) else None
        with self._lock:
            self._batches[batch.id] = batch
        self._queue.put(batch.id)
        return batch

    def get(self, batch_id: str) -> Batch:
        with self._lock:
            found = self._batches.get(batch_id)
        if found is None:
            raise BatchNotFoundError(f"no batch {batch_id!r}")
        return found

    def all(self) -> list[Batch]:
        with self._lock:
            return sorted(self._batches.values(), key=lambda b: -b.created_at)

    def cancel(self, batch_id: str) -> Batch:
        batch = self.get(batch_id)
        if batch.status in ("validating", "in_progress"):
            batch.status = "cancelling"
        return batch

    def close(self) -> None:
        self._queue.put(None)

    def _work(self) -> None:
        while (batch_id := self._queue.get()) is not None:
            batch = self.get(batch_id)
            try:
                self._run(batch)
            except Exception:  # a batch that breaks must not stop the worker
                log.exception("batch %s failed", batch.id)
                batch.status = "failed"
                batch.errors = {"object": "list", "data": [{"message": "internal error"}]}

    def _run(self, batch: Batch) -> None:
        if batch.status == "cancelling":
            batch.status, batch.cancelled_at = "cancelled", _now()
            return
        lines = self.content(batch.input_file_id).decode("utf-8", "replace").splitlines()
        numbered = [(n, raw) for n, raw in enumerate(lines, start=1) if raw.strip()]
        batch.request_counts["total"] = len(numbered)
        batch.status, batch.in_progress_at = "in_progress", _now()
        records = []
        for number, raw in numbered:
            if batch.status == "cancelling":
                break
            record = self._line(number, raw)
            counted = "completed" if record["error"] is None else "failed"
            batch.request_counts[counted] += 1
            records.append(json.dumps(record))
        text = ("\n".join(records) + "\n").encode()
        batch.output_file_id = self.add_file(f"{batch.id}_output.jsonl", "batch_output", text).id
        if batch.status == "cancelling":
            batch.status, batch.cancelled_at = "cancelled", _now()
        else:
            batch.status, batch.completed_at = "completed", _now()

    def _line(self, number: int, raw: str) -> dict[str, Any]:
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
        status, reply = self._run_line(body)
        response = {"status_code": status, "request_id": record["id"], "body": reply}
        failed = None if status == 200 else _error(number, str(reply.get("error", reply)))
        return {**record, "response": response, "error": failed}


def _error(number: int, message: str) -> dict[str, str]:
    return {"code": "invalid_request", "message": f"line {number}: {message}"}


def _now() -> int:
    return int(time.time())
