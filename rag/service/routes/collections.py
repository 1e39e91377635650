"""Collections through the API: list them, add documents (a background ingest
job), follow the job, delete a whole collection."""

from __future__ import annotations

import shutil
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ingest.report import IngestReport
from ingest.run import Options, run_ingest
from rag.errors import ConfigError, IndexNotFoundError
from rag.index.collections import UPLOADS, remove_collection
from rag.service.deps import AdminDep, LibraryDep, Models, ModelsDep, UserDep
from rag.service.jobs import JobNotFoundError, Jobs, Work
from rag.service.library import Library, missing
from rag.service.schemas import (
    ADMIN_REFUSED,
    BAD_BODY,
    INDEX_BUSY,
    KEY_REFUSED,
    NOT_FOUND,
    UNEXPECTED,
    CollectionDeleted,
    CollectionList,
    CollectionSummary,
    ErrorBody,
    JobBody,
    Responses,
)
from rag.service.uploads import TextUpload, save_files, save_texts
from rag.settings import Settings

router = APIRouter(prefix="/v1", tags=["collections"], responses=UNEXPECTED)


def inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$defs` references replaced by the definitions: the
    OpenAPI document has no `$defs` for them to point into."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


UPLOAD_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                    "required": ["files"],
                }
            },
            "application/json": {"schema": inline_defs(TextUpload.model_json_schema())},
        },
        "required": True,
    }
}
CONFLICT: Responses = {
    409: {"model": ErrorBody, "description": "an ingest of the collection is running"}
}


def jobs_of(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


@router.get("/collections", responses=KEY_REFUSED)
def list_collections(library: LibraryDep, principal: UserDep) -> CollectionList:
    """The collections this key may read, with their counts."""
    return CollectionList(
        collections=[_summary(library, n) for n in principal.readable(library.names())]
    )


@router.post(
    "/collections/{name}/documents",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobBody,
    openapi_extra=UPLOAD_BODY,
    responses={**ADMIN_REFUSED, **BAD_BODY, **NOT_FOUND, **CONFLICT},
)
async def add_documents(
    name: str, request: Request, library: LibraryDep, principal: AdminDep, models: ModelsDep
) -> JSONResponse:
    """Add files to a collection (made if new): multipart fields named `files`,
    or JSON `{"documents": [{"name", "text"}]}`. The reply is 202 with the
    ingest job; `GET /v1/jobs/{id}` follows it. One ingest per collection runs
    at a time."""
    settings = library.for_writer(principal, name)
    jobs = jobs_of(request)
    jobs.check_free(name)
    staging = settings.index_dir / UPLOADS / f".incoming-{uuid.uuid4().hex[:12]}"
    try:
        paths = await _received(request, staging)
        job = jobs.start(name, len(paths), _ingest(library, settings, staging, paths, models))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return JSONResponse(
        job.data(), status_code=status.HTTP_202_ACCEPTED, headers={"Location": f"/v1/jobs/{job.id}"}
    )


@router.get("/jobs/{job_id}", responses={**ADMIN_REFUSED, **NOT_FOUND})
def get_job(job_id: str, request: Request, principal: AdminDep) -> JobBody:
    """An ingest job's progress (files read, chunks embedded) and, once done,
    its report or its error."""
    try:
        job = jobs_of(request).get(job_id)
    except JobNotFoundError:
        job = None
    if job is None or not principal.can_write(job.collection):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id!r}")
    return JobBody.model_validate(job.data())


@router.delete(
    "/collections/{name}", responses={**ADMIN_REFUSED, **NOT_FOUND, **INDEX_BUSY, **CONFLICT}
)
async def delete_collection(
    name: str, request: Request, library: LibraryDep, principal: AdminDep
) -> CollectionDeleted:
    """Delete a whole collection: its generations and uploaded files."""
    if not principal.can_write(name):
        raise missing()
    library.get(name)
    jobs_of(request).check_free(name)
    await run_in_threadpool(remove_collection, library.root.index_dir, name)
    library.forget(name)
    return CollectionDeleted(deleted=name)


async def _received(request: Request, staging: Path) -> list[Path]:
    """The request's documents, written under `staging`."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        try:
            body = TextUpload.model_validate_json(await request.body())
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise ConfigError(f"invalid documents: {problems}") from None
        return save_texts(body, staging)
    if not kind.startswith("multipart/form-data"):
        raise ConfigError(
            f"content type {kind or 'none'!r} is not accepted",
            "send multipart/form-data with 'files' fields, or application/json",
        )
    form = await request.form(max_files=1000, max_fields=20)
    try:
        return await save_files(form.getlist("files"), staging)
    finally:
        await form.close()


def _ingest(
    library: Library, settings: Settings, staging: Path, paths: list[Path], models: Models
) -> Work:
    """The job: move the files into the collection's uploads, ingest them into
    a new generation, and serve it."""

    def work(report: IngestReport) -> None:
        uploads = staging.parent
        final = []
        for path in paths:
            target = uploads / path.name
            path.replace(target)
            final.append(target)
        shutil.rmtree(staging, ignore_errors=True)
        run_ingest(settings, Options(paths=final), lambda: models.embedder, report=report)
        library.refresh()

    return work


def _summary(library: Library, name: str) -> CollectionSummary:
    with suppress(IndexNotFoundError), library.get(name).holder.acquire() as live:
        counts = live.retriever.store.counts()
        return CollectionSummary(
            name=name,
            documents=counts["documents"],
            chunks=counts["chunks"],
            generation=live.generation,
        )
    return CollectionSummary(name=name)
