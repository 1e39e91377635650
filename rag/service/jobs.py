"""Background ingest jobs: one running per collection, their progress read live.

A job runs on its own thread and fills in its `IngestReport` as it goes
(files read, chunks embedded, the phase), which `GET /v1/jobs/{id}` shows.
Jobs are kept in memory while the service runs.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.report import IngestReport
from rag.errors import JobConflictError, RagError

log = logging.getLogger("rag.service")
Work = Callable[[IngestReport], None]


class JobNotFoundError(LookupError):
    pass


@dataclass
class Job:
    id: str
    collection: str
    files: int
    created_at: float = field(default_factory=time.time)
    status: str = "queued"  # queued, running, succeeded, failed
    finished_at: float | None = None
    error: str | None = None
    report: IngestReport = field(default_factory=IngestReport)

    def data(self) -> dict[str, Any]:
        report = self.report
        done = self.status in ("succeeded", "failed")
        return {
            "id": self.id,
            "collection": self.collection,
            "status": self.status,
            "created_at": round(self.created_at, 3),
            "finished_at": round(self.finished_at, 3) if self.finished_at else None,
            "progress": {
                "phase": report.phase,
                "files": self.files,
                "files_read": report.files_read,
                "files_failed": len(report.failed),
                "chunks_embedded": report.chunks_embedded,
            },
            "result": report.record() if self.status == "succeeded" else None,
            "error": self.error if done else None,
        }


class Jobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._running: dict[str, str] = {}  # collection -> its running job's id

    def check_free(self, collection: str) -> None:
        """Raise `JobConflictError` naming the job if `collection` has one running."""
        with self._lock:
            running = self._running.get(collection)
        if running is not None:
            raise JobConflictError(f"ingest job {running} is still running on {collection!r}")

    def start(self, collection: str, files: int, work: Work) -> Job:
        """Run `work` on a thread as the collection's one running job."""
        job = Job(f"job_{uuid.uuid4().hex[:20]}", collection, files)
        with self._lock:
            running = self._running.get(collection)
            if running is not None:
                raise JobConflictError(f"ingest job {running} is still running on {collection!r}")
            self._running[collection] = job.id
            self._jobs[job.id] = job
        thread = threading.Thread(target=self._run, args=(job, work), daemon=True, name=job.id)
        thread.start()
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            found = self._jobs.get(job_id)
        if found is None:
            raise JobNotFoundError(job_id)
        return found

    def _run(self, job: Job, work: Work) -> None:
        job.status = "running"
        try:
            work(job.report)
            job.status = "succeeded"
        except RagError as error:
            job.status, job.error = "failed", str(error)
        except Exception:  # the job fails; the service and the live index do not
            log.exception("ingest job %s failed", job.id)
            job.status, job.error = "failed", "internal error: see the service log"
        finally:
            job.finished_at = time.time()
            with self._lock:
                self._running.pop(job.collection, None)
