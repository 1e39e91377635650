"""An ingest round of the load run sent through the API instead of `rag ingest`:
the round's files uploaded to `POST /v1/collections/default/documents`, the job
followed to its end, then the round's new file searched for until it is found.
`searchable_s` is how long after the job's end the first search found it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

JOB_POLL_S = 0.1
FIND_FOR_S = 30.0


def upload_round(base: str, files: list[Path], marker: str, wanted: str) -> dict[str, Any]:
    """Upload `files`, wait for the job; then search `marker` until a hit comes
    from a file named `wanted`. The row's figures, in seconds from the upload."""
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=120) as client:
        form = [("files", (p.name, p.read_bytes())) for p in files]
        accepted = client.post("/v1/collections/default/documents", files=form)
        if accepted.status_code != 202:
            return {"exit": f"upload answered {accepted.status_code}: {accepted.text[:200]}"}
        job = _finished(client, accepted.headers["location"])
        ended = time.perf_counter()
        row: dict[str, Any] = {"job_s": round(ended - started, 2)}
        if job["status"] != "succeeded":
            return {**row, "exit": f"job {job['status']}: {job['error']}"}
        found = _found_after(client, marker, wanted)
    searchable = None if found is None else round(found - ended, 2)
    return {**row, "exit": 0 if found is not None else "never found", "searchable_s": searchable}


def _finished(client: httpx.Client, location: str) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = client.get(location).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(JOB_POLL_S)


def _found_after(client: httpx.Client, marker: str, wanted: str) -> float | None:
    """When a search for `marker` first ranked a chunk of `wanted` first."""
    deadline = time.perf_counter() + FIND_FOR_S
    while time.perf_counter() < deadline:
        reply = client.post("/v1/search", json={"question": marker, "top_k": 3})
        if reply.status_code == 200:
            results = reply.json()["results"]
            if results and str(results[0]["source"]).endswith(wanted):
                return time.perf_counter()
        time.sleep(JOB_POLL_S)
    return None
