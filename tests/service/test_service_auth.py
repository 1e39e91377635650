"""Keys and body limits against the real service on a loopback port: every
route of the app's route table with no key, a wrong key, a user key and an
admin key; keys never in a log record or a response; oversized bodies refused
before they are read, whether their length is declared, false or absent."""

from __future__ import annotations

import json
import logging
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from rag.embedding import Embedder
from rag.service.app import create_app
from rag.service.deps import require_admin, require_user
from rag.settings import Settings, build_settings
from tests.service_helpers import running_service

USER, ADMIN, WRONG = "user-SECRET-5b1f", "admin-SECRET-9c2e", "wrong-SECRET-77aa"
BODIES = {
    "/v1/search": {"question": "tides"},
    "/v1/query": {"question": "What causes tides?"},
    "/v1/chat/completions": {"model": "rag", "messages": [{"role": "user", "content": "tides"}]},
    "/v1/batches": {"input_file_id": "file-none", "endpoint": "/v1/chat/completions"},
}


def keyed_settings(index: Path, **service: object) -> Settings:
    data = {
        "index_dir": index,
        "service": {"user_keys": [USER], "admin_keys": [ADMIN], **service},
        "answer": {"generator": "extractive"},
    }
    return build_settings(data, use_env=False)


def _depends_on(dependant: Dependant, dependency: object) -> bool:
    return dependant.call is dependency or any(
        _depends_on(d, dependency) for d in dependant.dependencies
    )


def api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, inside included routers too (FastAPI 0.16x keeps those as
    `_IncludedRouter`s holding the `original_router`, whose routes carry its prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def routes_needing(dependency: object) -> list[tuple[str, str]]:
    """(method, path) of every route in the app whose dependencies include `dependency`."""
    app = create_app(build_settings(use_env=False))
    return sorted(
        (method, route.path)
        for route in api_routes(app.router.routes)
        if _depends_on(route.dependant, dependency)
        for method in route.methods
    )


ADMIN_ROUTES = routes_needing(require_admin)
USER_ROUTES = [r for r in routes_needing(require_user) if r not in ADMIN_ROUTES]


def call(client: httpx.Client, method: str, path: str, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    concrete = path.replace("{doc_id}", "0000000000000000").replace("{name}", "absent")
    if path == "/v1/files":  # a form with a file, as the Files API takes it
        upload = {"file": ("requests.jsonl", b"{}\n")}
        return client.post(concrete, files=upload, data={"purpose": "batch"}, headers=headers)
    return client.request(method, concrete, json=BODIES.get(path), headers=headers)


def test_the_route_table_has_the_admin_and_user_routes_the_readme_lists() -> None:
    assert ADMIN_ROUTES == [
        ("DELETE", "/v1/collections/{name}"),
        ("DELETE", "/v1/documents/{doc_id}"),
        ("GET", "/v1/jobs/{job_id}"),
        ("POST", "/v1/admin/reload"),
        ("POST", "/v1/collections/{name}/documents"),
    ]
    assert USER_ROUTES == [
        ("GET", "/v1/batches"),
        ("GET", "/v1/batches/{batch_id}"),
        ("GET", "/v1/collections"),
        ("GET", "/v1/documents"),
        ("GET", "/v1/documents/{doc_id}"),
        ("GET", "/v1/files/{file_id}"),
        ("GET", "/v1/files/{file_id}/content"),
        ("GET", "/v1/models"),
        ("POST", "/v1/batches"),
        ("POST", "/v1/batches/{batch_id}/cancel"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/files"),
        ("POST", "/v1/query"),
        ("POST", "/v1/search"),
    ]


def _message(response: httpx.Response) -> str:
    """The error text: FastAPI's `detail`, or OpenAI's `error.message` on its routes."""
    body = response.json()
    return str(body["error"]["message"] if "error" in body else body["detail"])


def test_every_route_checks_its_key(facts_index: Path, real_embedder: Embedder) -> None:
    with running_service(keyed_settings(facts_index), real_embedder) as client:
        for method, path in ADMIN_ROUTES + USER_ROUTES:
            for key in (None, WRONG, "", f"{USER}x"):
                refused = call(client, method, path, key)
                assert refused.status_code == 401, (method, path, key)
                assert "missing or unknown API key" in _message(refused)
                assert refused.headers["www-authenticate"] == "Bearer"
        for method, path in ADMIN_ROUTES:
            forbidden = call(client, method, path, USER)
            assert forbidden.status_code == 403, (method, path)
            assert forbidden.json() == {"detail": "this route needs an admin API key"}
            # adding documents with no body is refused (422) before anything is written
            assert call(client, method, path, ADMIN).status_code in (200, 404, 422)
        for method, path in USER_ROUTES:
            for key in (USER, ADMIN):
                assert call(client, method, path, key).status_code in (200, 404), (method, path)
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            assert client.get(path).status_code == 200, path


def test_keys_never_reach_a_log_or_a_response(
    facts_index: Path,
    real_embedder: Embedder,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rag.retrieval.hybrid import HybridRetriever

    seen: list[str] = []
    with (
        caplog.at_level(logging.DEBUG),
        running_service(keyed_settings(facts_index, max_body_bytes=2048), real_embedder) as client,
    ):
        for method, path in ADMIN_ROUTES + USER_ROUTES:
            for key in (None, WRONG, USER, ADMIN):
                response = call(client, method, path, key)
                seen += [response.text, json.dumps(dict(response.headers))]
        headers = {"Authorization": f"Bearer {ADMIN}"}
        bad = client.post("/v1/search", json={"question": "x", "top_k": 0}, headers=headers)
        big = client.post("/v1/search", json={"question": "x" * 4000}, headers=headers)
        monkeypatch.setattr(HybridRetriever, "passages", _broken)
        broken = client.post("/v1/search", json={"question": "tides"}, headers=headers)
        seen += [r.text for r in (bad, big, broken)]
    assert (bad.status_code, big.status_code, broken.status_code) == (422, 413, 500)
    logged = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any('"status": 500' in line for line in logged)  # the access log was captured
    assert any("unexpected error id=" in line for line in logged)  # and the error's record
    assert len(seen) == 2 * 4 * len(ADMIN_ROUTES + USER_ROUTES) + 3
    leaks = [text for text in seen + logged for key in (USER, ADMIN, WRONG) if key in text]
    assert leaks == []


def _broken(*_: object) -> None:
    raise RuntimeError("disk on fire")


def raw_upload(
    port: int, head: str, body: Iterator[bytes], seconds: float = 30
) -> tuple[int, bytes]:
    """Send `head`, then `body` as fast as the server takes it, until a reply
    comes; returns the bytes of body sent and the reply's start."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    pending, sent, reply = head.encode(), -len(head), b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and b"\r\n\r\n" not in reply:
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 0.5)
            if readable:
                data = sock.recv(65536)
                if not data:
                    break
                reply += data
            elif writable:
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent, pending = sent + n, pending[n:] or next(body, b"")
    finally:
        sock.close()
    return max(sent, 0), reply


def test_oversized_bodies_are_refused_before_they_are_read(
    facts_index: Path, real_embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = keyed_settings(facts_index, max_body_bytes=2048)
    head = "POST /v1/search HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    head += f"authorization: Bearer {USER}\r\n"
    total = 256 << 20  # 256 MiB offered
    with caplog.at_level(logging.INFO, "rag.access"), running_service(settings, real_embedder) as c:
        port = int(c.base_url.port or 0)
        chunk = b"4000\r\n" + b"a" * 0x4000 + b"\r\n"
        chunked = raw_upload(
            port, head + "transfer-encoding: chunked\r\n\r\n", iter([chunk] * (total // 0x4000))
        )
        lying = raw_upload(
            port, head + f"content-length: {total}\r\n\r\n", iter([b"a" * 0x4000] * 64)
        )
        small = c.post(
            "/v1/search", json={"question": "tides"}, headers={"authorization": f"Bearer {USER}"}
        )
    for _, reply in (chunked, lying):
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        assert b"request body over 2048 bytes" in reply
    # Chunked: read up to the limit, then refused; what was sent beyond it sits in
    # the sockets' buffers (a few MiB on loopback), nowhere near the 256 MiB.
    assert chunked[0] < 32 << 20
    # A declared length over the limit is refused before any body is read: the
    # reply came although at most 1 MiB of the 256 MiB declared was ever sent.
    assert small.status_code == 200  # the limit leaves ordinary requests alone
    statuses = [
        json.loads(r.getMessage())["status"] for r in caplog.records if r.name == "rag.access"
    ]
    assert statuses.count(413) == 2
