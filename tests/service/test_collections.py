"""Collections, per-key access and ingest through the API, over real HTTP with
the real embedder: two teams' documents uploaded as a background job, each
key reaching only its own collection, by every route of the route table."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ingest.report import IngestReport
from ingest.run import Options, run_ingest
from rag.embedding import Embedder
from rag.errors import JobConflictError
from rag.index.collections import collection_dir
from rag.index.generations import current_generation
from rag.service.jobs import Jobs
from rag.settings import Settings, build_settings
from tests.service.test_service_auth import ADMIN_ROUTES, USER_ROUTES
from tests.service_helpers import running_service

OPS, HR_USER, HR_ADMIN, WIKI_USER = "k-ops-1f2e", "k-hr-77aa", "k-hr-admin-90bd", "k-wiki-3c4d"
HR_FILES = {
    "handbook.txt": "Parental leave at Lindqvist Corp lasts twenty-six weeks at full salary. "
    "Employees request leave through the Zephyrine portal.",
    "bands.md": "# Salary bands\n\nThe Quokkanite band pays between 80,000 and 95,000 euros.",
}
WIKI_DOC = {
    "name": "deploying-borealis.md",
    "text": "# Deploying Borealis\n\nThe Borealis cluster is deployed with flintlock push. "
    "A rollback uses flintlock revert and takes about four minutes.",
    "metadata": {"team": "platform", "reviewed": "2026-11"},
}
# What a key of `hr` must never see of `wiki`: its words, file and title (its
# ids and its name are added once known).
WIKI_SECRETS = ["Borealis", "flintlock", "deploying-borealis"]


def two_team_settings(index: Path, **service: Any) -> Settings:
    keys = {
        OPS: {"role": "admin", "collections": ["*"]},
        HR_USER: {"role": "user", "collections": ["hr"]},
        # given as its hash, so the settings hold no secret
        "sha256:" + hashlib.sha256(HR_ADMIN.encode()).hexdigest(): {
            "role": "admin",
            "collections": ["hr"],
        },
        WIKI_USER: {"role": "user", "collections": ["wiki"]},
    }
    data = {
        "index_dir": index,
        "answer": {"generator": "extractive"},
        "service": {"keys": keys, "reload_interval_s": 0.5, **service},
    }
    return build_settings(data, use_env=False)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def finished(client: httpx.Client, accepted: httpx.Response, key: str) -> dict[str, Any]:
    """The job `accepted` started, polled until it is done."""
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(location, headers=bearer(key)).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {location} did not finish")


@pytest.fixture(scope="module")
def two_teams(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """A service whose `hr` and `wiki` collections were uploaded through the
    API; the client and each wiki document's id."""
    index = tmp_path_factory.mktemp("teams") / "index"
    with running_service(two_team_settings(index), real_embedder) as client:
        files = [("files", (name, text.encode())) for name, text in HR_FILES.items()]
        hr = client.post("/v1/collections/hr/documents", files=files, headers=bearer(HR_ADMIN))
        hr_job = finished(client, hr, HR_ADMIN)
        wiki = client.post(
            "/v1/collections/wiki/documents", json={"documents": [WIKI_DOC]}, headers=bearer(OPS)
        )
        wiki_job = finished(client, wiki, OPS)
        assert (hr_job["status"], wiki_job["status"]) == ("succeeded", "succeeded"), (
            hr_job,
            wiki_job,
        )
        listed = client.get("/v1/documents?collection=wiki", headers=bearer(OPS)).json()
        ids = {d["title"]: d["doc_id"] for d in listed["documents"]}
        yield client, ids


def test_two_teams_upload_and_each_reads_only_its_own(
    two_teams: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, _ = two_teams
    listed = client.get("/v1/collections", headers=bearer(OPS)).json()["collections"]
    counts = {c["name"]: c["documents"] for c in listed}
    assert counts == {"default": None, "hr": 2, "wiki": 1}
    hr_view = client.get("/v1/collections", headers=bearer(HR_USER)).json()["collections"]
    assert [c["name"] for c in hr_view] == ["hr"]
    # the key's only collection is its default: no `collection` needed
    found = client.post("/v1/search", json={"question": "parental leave"}, headers=bearer(HR_USER))
    assert found.status_code == 200
    assert found.json()["results"][0]["source"].endswith("handbook.txt")
    answer = client.post(
        "/v1/query", json={"question": "How long is parental leave?"}, headers=bearer(HR_USER)
    ).json()
    assert "twenty-six weeks" in answer["answer"] and not answer["refused"]
    models = client.get("/v1/models", headers=bearer(OPS)).json()["data"]
    assert [m["id"] for m in models] == ["rag", "hr", "wiki"]
    chat = client.post(
        "/v1/chat/completions",
        json={
            "model": "wiki",
            "messages": [{"role": "user", "content": "How is Borealis deployed?"}],
        },
        headers=bearer(OPS),
    )
    assert "flintlock push" in chat.json()["choices"][0]["message"]["content"]
    # the JSON upload's metadata is searchable with a metadata filter
    filtered = {
        "question": "rollback",
        "collection": "wiki",
        "filters": {"metadata": {"team": "platform"}},
    }
    hits = client.post("/v1/search", json=filtered, headers=bearer(OPS)).json()["results"]
    assert hits and hits[0]["source"].endswith("deploying-borealis.md")
    other = {**filtered, "filters": {"metadata": {"team": "hr"}}}
    assert client.post("/v1/search", json=other, headers=bearer(OPS)).json()["results"] == []
    wiki_models = client.get("/v1/models", headers=bearer(WIKI_USER)).json()["data"]
    assert [m["id"] for m in wiki_models] == ["rag"]  # "rag" is the key's own collection


def test_the_hr_key_learns_nothing_of_wiki_by_any_route(
    two_teams: tuple[httpx.Client, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    """For every route of the route table, the hr keys (user and admin) ask
    for wiki's content every way the API allows: by `collection`, by model, by
    its document ids (guessed right), by filters. No byte of wiki's text,
    file, title or ids is in any response or log line; wiki's name is in no
    response, and each refusal is the same as for a collection that does not
    exist."""
    client, ids = two_teams
    secrets = WIKI_SECRETS + list(ids.values())
    seen: list[str] = []
    covered: set[tuple[str, str]] = set()
    with caplog.at_level(logging.DEBUG):
        for key in (HR_USER, HR_ADMIN):
            for (method, path), response, twin in attempts(client, key, ids):
                covered.add((method, path))
                seen += [response.text, json.dumps(dict(response.headers))]
                if twin is not None:
                    assert (response.status_code, response.text) == (twin.status_code, twin.text)
    assert covered >= set(ADMIN_ROUTES + USER_ROUTES)
    server = [r for r in caplog.records if r.name.startswith(("rag", "uvicorn"))]
    assert any(r.name == "rag.access" for r in server)  # the service's log was captured
    logged = [r.getMessage() + (r.exc_text or "") for r in server]
    leaks = [s for text in seen + logged for s in secrets if s.lower() in text.lower()]
    assert leaks == []
    assert [text for text in seen if "wiki" in text] == []


Attempt = tuple[tuple[str, str], httpx.Response, httpx.Response | None]


def attempts(client: httpx.Client, key: str, ids: dict[str, str]) -> Iterator[Attempt]:
    """(route, the response to asking it for wiki, the response to the same ask
    of a collection that does not exist, where there is one to compare)."""
    doc = next(iter(ids.values()))
    h = bearer(key)

    def both(method: str, path: str, **kw: Any) -> tuple[httpx.Response, httpx.Response]:
        asked = json.dumps(kw).replace("wiki", "nowhere")
        twin_kw = json.loads(asked)
        return (
            client.request(method, path.format(c="wiki"), headers=h, **kw),
            client.request(method, path.format(c="nowhere"), headers=h, **twin_kw),
        )

    q = {"question": "How is the cluster deployed, and how long does a rollback take?"}
    for route, (method, url, kw) in {
        ("POST", "/v1/search"): ("POST", "/v1/search", {"json": {**q, "collection": "wiki"}}),
        ("POST", "/v1/query"): ("POST", "/v1/query", {"json": {**q, "collection": "wiki"}}),
        ("GET", "/v1/documents"): ("GET", "/v1/documents?collection={c}", {}),
        ("GET", "/v1/documents/{doc_id}"): ("GET", f"/v1/documents/{doc}?collection={{c}}", {}),
        ("DELETE", "/v1/documents/{doc_id}"): (
            "DELETE",
            f"/v1/documents/{doc}?collection={{c}}",
            {},
        ),
        ("POST", "/v1/admin/reload"): ("POST", "/v1/admin/reload?collection={c}", {}),
        ("DELETE", "/v1/collections/{name}"): ("DELETE", "/v1/collections/{c}", {}),
        ("POST", "/v1/chat/completions"): (
            "POST",
            "/v1/chat/completions",
            {"json": {"model": "wiki", "messages": [{"role": "user", "content": q["question"]}]}},
        ),
    }.items():
        asked, twin = both(method, url, **kw)
        yield route, asked, twin
    # the key's own collection, with wiki's ids guessed right: nothing of wiki
    own = [
        client.post(
            "/v1/search", json={**q, "filters": {"doc_ids": list(ids.values())}}, headers=h
        ),
        client.get(f"/v1/documents/{doc}", headers=h),
        client.post(
            "/v1/query",
            json={**q, "history": [{"role": "user", "content": "And the rollback?"}]},
            headers=h,
        ),
    ]
    yield ("POST", "/v1/search"), own[0], None
    yield ("GET", "/v1/documents/{doc_id}"), own[1], None
    yield ("POST", "/v1/query"), own[2], None
    yield ("GET", "/v1/collections"), client.get("/v1/collections", headers=h), None
    yield ("GET", "/v1/models"), client.get("/v1/models", headers=h), None
    yield from batch_attempts(client, h, q["question"])
    # adding to wiki: refused as for a collection that does not exist (HR_USER: 403)
    upload = {"json": {"documents": [{"name": "x.txt", "text": "planted"}]}}
    asked, twin = both("POST", "/v1/collections/{c}/documents", **upload)
    yield ("POST", "/v1/collections/{name}/documents"), asked, twin
    yield ("GET", "/v1/jobs/{job_id}"), client.get("/v1/jobs/job_nope", headers=h), None
    for open_route in ("/metrics", "/readyz", "/healthz", "/openapi.json", "/"):
        yield ("GET", open_route), client.get(open_route), None


def batch_attempts(client: httpx.Client, h: dict[str, str], question: str) -> Iterator[Attempt]:
    """A batch asking the wiki model: every line fails, naming no collection."""
    line = {
        "custom_id": "a",
        "url": "/v1/chat/completions",
        "body": {"model": "wiki", "messages": [{"role": "user", "content": question}]},
    }
    upload = client.post(
        "/v1/files",
        files={"file": ("b.jsonl", json.dumps(line).encode())},
        data={"purpose": "batch"},
        headers=h,
    )
    yield ("POST", "/v1/files"), upload, None
    file_id = upload.json()["id"]
    yield ("GET", "/v1/files/{file_id}"), client.get(f"/v1/files/{file_id}", headers=h), None
    body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions"}
    batch = client.post("/v1/batches", json=body, headers=h)
    yield ("POST", "/v1/batches"), batch, None
    batch_id = batch.json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        polled = client.get(f"/v1/batches/{batch_id}", headers=h)
        if polled.json()["status"] == "completed":
            break
        time.sleep(0.1)
    yield ("GET", "/v1/batches/{batch_id}"), polled, None
    yield ("GET", "/v1/batches"), client.get("/v1/batches", headers=h), None
    out = client.get(f"/v1/files/{polled.json()['output_file_id']}/content", headers=h)
    assert json.loads(out.text)["response"]["status_code"] == 404
    yield ("GET", "/v1/files/{file_id}/content"), out, None
    cancel = client.post(f"/v1/batches/{batch_id}/cancel", headers=h)
    yield ("POST", "/v1/batches/{batch_id}/cancel"), cancel, None


def test_mcp_tools_reach_only_the_keys_collections(
    two_teams: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, ids = two_teams
    url = f"{str(client.base_url).rstrip('/')}/mcp"

    async def main() -> dict[str, Any]:
        async with (
            httpx2.AsyncClient(headers=bearer(HR_USER), timeout=120) as keyed,
            Client(streamable_http_client(url, http_client=keyed)) as mcp,
        ):
            own = await mcp.call_tool("list_documents", {})
            search = await mcp.call_tool("search", {"question": "cluster", "collection": "wiki"})
            doc = await mcp.call_tool(
                "get_document", {"doc_id": next(iter(ids.values())), "collection": "wiki"}
            )
            return {"own": own.structured_content, "search": search, "doc": doc}

    found = anyio.run(main)
    assert sorted(d["title"] for d in found["own"]["documents"]) == ["Salary bands", "handbook"]
    for refused in (found["search"], found["doc"]):
        assert refused.is_error and "no such collection" in refused.content[0].text
        assert "wiki" not in refused.content[0].text


def test_uploads_are_bounded_named_and_one_job_runs_per_collection(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    index = tmp_path / "index"
    with running_service(two_team_settings(index, max_upload_mb=1), real_embedder) as client:
        big = [("files", ("big.txt", b"word " * 300_000))]
        refused = client.post("/v1/collections/hr/documents", files=big, headers=bearer(OPS))
        assert refused.status_code == 413 and "max_upload_mb (1 MB)" in refused.json()["error"]
        # the same, sent chunked with no length: refused as it passes the limit
        chunked = client.post(
            "/v1/collections/hr/documents",
            content=multipart_chunks("big.txt", b"word " * 300_000),
            headers={**bearer(OPS), "content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        assert chunked.status_code == 413 and "max_upload_mb (1 MB)" in chunked.json()["error"]
        assert not (index / "collections/hr").exists()
        bad = client.post(
            "/v1/collections/hr/documents",
            json={"documents": [{"name": "../../etc/.passwd", "text": "x"}]},
            headers=bearer(OPS),
        )
        assert bad.status_code == 422 and "not starting with '.'" in bad.json()["error"]
        untyped = {"documents": [{"name": "a.txt", "text": "x", "metadata": {"team": "hr"}}]}
        refused_meta = client.post(
            "/v1/collections/hr/documents", json=untyped, headers=bearer(OPS)
        )
        assert refused_meta.status_code == 422 and "name it .md" in refused_meta.json()["error"]
        named = client.post("/v1/collections/Bad%20Name/documents", json={}, headers=bearer(OPS))
        assert named.status_code == 422 and "lowercase" in named.json()["error"]
        mixed = [
            ("files", ("good.txt", b"The Quokkanite band pays well.")),
            ("files", ("empty.txt", b"")),
        ]
        job = finished(
            client,
            client.post("/v1/collections/hr/documents", files=mixed, headers=bearer(OPS)),
            OPS,
        )
        assert job["status"] == "succeeded" and job["progress"]["files_read"] >= 1
        assert [f["path"].rsplit("/", 1)[-1] for f in job["result"]["failed"]] == ["empty.txt"]
        # searchable once the job is done, with no reload asked for
        hit = client.post(
            "/v1/search", json={"question": "Quokkanite", "collection": "hr"}, headers=bearer(OPS)
        )
        assert hit.json()["results"][0]["source"].endswith("good.txt")
        assert not list((index / "collections/hr/uploads").glob(".incoming-*"))
        gone = client.delete("/v1/collections/hr", headers=bearer(OPS))
        assert gone.json() == {"deleted": "hr"} and not (index / "collections/hr").exists()
        after = client.post(
            "/v1/search", json={"question": "Quokkanite", "collection": "hr"}, headers=bearer(OPS)
        )
        assert after.status_code == 404


def test_a_damaged_collection_is_refused_alone_and_the_others_serve(
    tmp_path: Path, real_embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    index = tmp_path / "index"
    settings = two_team_settings(index)
    for name, text in (("default", "Tides follow the Moon."), ("hr", HR_FILES["handbook.txt"])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        target = settings.model_copy(update={"index_dir": collection_dir(index, name)})
        run_ingest(target, Options([folder]), lambda: real_embedder)
    faiss = current_generation(collection_dir(index, "hr")) / "dense.faiss"
    faiss.write_bytes(faiss.read_bytes()[:100])
    with caplog.at_level(logging.ERROR), running_service(settings, real_embedder) as client:
        served = client.post("/v1/search", json={"question": "tides"}, headers=bearer(OPS))
        refused = client.post(
            "/v1/search", json={"question": "leave", "collection": "hr"}, headers=bearer(OPS)
        )
        listed = client.get("/v1/collections", headers=bearer(OPS)).json()["collections"]
    assert served.status_code == 200 and served.json()["results"][0]["source"].endswith(
        "default.txt"
    )
    assert refused.status_code == 503 and "dense.faiss" in refused.json()["error"]
    assert {c["name"]: c["documents"] for c in listed} == {"default": 1, "hr": None}
    assert any("collections/hr" in r.getMessage() for r in caplog.records)


BOUNDARY = "rag-test-boundary"


def multipart_chunks(name: str, data: bytes) -> Iterator[bytes]:
    """One file as a multipart body in 64 KiB pieces (httpx sends it chunked)."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    for start in range(0, len(data), 1 << 16):
        yield data[start : start + (1 << 16)]
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_a_second_job_on_a_collection_is_refused_naming_the_first() -> None:
    jobs, release = Jobs(), threading.Event()

    def slow(report: IngestReport) -> None:
        release.wait(10)

    first = jobs.start("hr", 1, slow)
    with pytest.raises(JobConflictError, match=first.id):
        jobs.start("hr", 1, slow)
    other = jobs.start("wiki", 1, lambda report: None)  # another collection is free
    release.set()
    deadline = time.monotonic() + 10
    while jobs.get(first.id).status != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert jobs.get(first.id).status == "succeeded" and jobs.get(other.id).status == "succeeded"
    jobs.start("hr", 1, lambda report: None)  # free again
