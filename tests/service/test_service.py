"""The real service on a loopback port, with the real model and a real index."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from ingest.run import Options, run_ingest
from rag.embedding import Embedder
from rag.settings import Settings, build_settings
from tests.conftest import write_facts
from tests.service_helpers import running_service

USER, ADMIN = "user-key-123", "admin-key-456"


def make_settings(index: Path, **service: object) -> Settings:
    return build_settings({"index_dir": index, "service": service}, use_env=False)


@pytest.fixture
def corpus_and_index(tmp_path: Path, real_embedder: Embedder) -> tuple[Path, Path]:
    corpus = write_facts(tmp_path / "corpus")
    index = tmp_path / "index"
    run_ingest(make_settings(index), Options([corpus]), lambda: real_embedder)
    return corpus, index


def search(client: httpx.Client, question: str, **extra: object) -> httpx.Response:
    return client.post("/v1/search", json={"question": question, **extra})


def test_search_health_documents_and_metrics(facts_index: Path, real_embedder: Embedder) -> None:
    with running_service(make_settings(facts_index), real_embedder) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready", "generation": 1}
        for mode in ("rrf", "minmax", "dense", "sparse"):
            body = search(client, "castling king rook", top_k=2, mode=mode).json()
            first = body["results"][0]
            assert Path(first["source"]).name == "chess.txt" and body["mode"] == mode
            assert first["snippet"].startswith("In chess, castling")
            assert (first["dense"] is None) == (mode == "sparse")
            assert (first["sparse"] is None) == (mode == "dense")
            assert body["timings_ms"]["fuse"] >= 0
        listing = client.get("/v1/documents").json()
        assert listing["total"] == 6
        pdf = next(d for d in listing["documents"] if d["source"].endswith("glaciers.pdf"))
        detail = client.get(f"/v1/documents/{pdf['doc_id']}").json()
        assert detail["title"] == "Glaciers" and detail["chunks"][0]["page_start"] == 1
        missing = client.get("/v1/documents/nope")
        assert missing.status_code == 404 and "GET /v1/documents" in missing.json()["detail"]
        metrics = client.get("/metrics").text
        assert 'rag_requests_total{route="/v1/search",status="200"} 4.0' in metrics
        assert 'rag_stage_seconds_count{stage="embed"} 3.0' in metrics
        assert "swagger" in client.get("/docs").text.lower()
        assert "/v1/search" in client.get("/openapi.json").json()["paths"]


def test_filters_over_http(facts_index: Path, real_embedder: Embedder) -> None:
    with running_service(make_settings(facts_index), real_embedder) as client:
        pdf = search(client, "lava", filters={"metadata": {"format": "pdf"}}).json()
        assert {Path(r["source"]).name for r in pdf["results"]} == {"glaciers.pdf"}
        nowhere = search(client, "lava", filters={"source_prefix": "/nowhere/"}).json()
        assert nowhere["results"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "body.question"),
        ({"question": "   "}, "body.question"),
        ({"question": "x", "top_k": 0}, "body.top_k"),
        ({"question": "x", "mode": "borda"}, "body.mode"),
        ({"question": "x", "filters": {"colour": "red"}}, "body.filters.colour"),
        ({"question": "x", "extra": 1}, "body.extra"),
        ({"top_k": 3}, "body.question"),
    ],
)
def test_bad_requests_get_422_naming_the_field(
    facts_index: Path,
    real_embedder: Embedder,
    body: dict[str, object],
    field: str,
) -> None:
    with running_service(make_settings(facts_index), real_embedder) as client:
        response = client.post("/v1/search", json=body)
        assert response.status_code == 422
        assert field in [p["field"] for p in response.json()["detail"]]


def test_limits_and_malformed_input(facts_index: Path, real_embedder: Embedder) -> None:
    settings = make_settings(facts_index, max_question_chars=50, max_body_bytes=2048)
    with running_service(settings, real_embedder) as client:
        too_many = search(client, "x", top_k=101)
        assert too_many.status_code == 422 and "at most 100" in too_many.json()["error"]
        long = search(client, "word " * 20)
        assert long.status_code == 422 and "over 50" in long.json()["error"]
        unknown_key = search(client, "x", filters={"metadata": {"colour": "red"}})
        assert unknown_key.status_code == 422 and "colour" in unknown_key.json()["error"]
        big = client.post(
            "/v1/search",
            content=b'{"question": "' + b"a" * 5000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        broken = client.post(
            "/v1/search", content=b'{"question": ', headers={"content-type": "application/json"}
        )
        assert broken.status_code == 422
        assert "Traceback" not in broken.text + big.text


def test_unexpected_error_is_a_generic_500_with_a_logged_id(
    facts_index: Path,
    real_embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from rag.retrieval.hybrid import HybridRetriever

    def broken(*_: object) -> None:
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(HybridRetriever, "passages", broken)
    with (
        caplog.at_level(logging.ERROR, logger="rag.service"),
        running_service(make_settings(facts_index), real_embedder) as client,
    ):
        response = search(client, "tides")
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"error", "id"} and "fire" not in response.text
    assert any(body["id"] in r.getMessage() for r in caplog.records)


def test_api_keys(
    facts_index: Path, real_embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(facts_index, user_keys=[USER], admin_keys=[ADMIN])
    with caplog.at_level(logging.DEBUG), running_service(settings, real_embedder) as client:
        assert search(client, "tides").status_code == 401
        wrong = client.post(
            "/v1/search", json={"question": "tides"}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        user = {"Authorization": f"Bearer {USER}"}
        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert client.post("/v1/search", json={"question": "tides"}, headers=user).is_success
        assert client.post("/v1/admin/reload", headers=user).status_code == 403
        assert client.delete("/v1/documents/x", headers=user).status_code == 403
        assert client.post("/v1/admin/reload").status_code == 401
        reload = client.post("/v1/admin/reload", headers=admin)
        assert reload.json() == {"generation": 1, "swapped": False}
        assert client.get("/healthz").is_success  # health needs no key
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert USER not in logged and ADMIN not in logged


def test_delete_document_makes_a_new_generation(
    corpus_and_index: tuple[Path, Path], real_embedder: Embedder
) -> None:
    _, index = corpus_and_index
    with running_service(make_settings(index, reload_interval_s=0), real_embedder) as client:
        chess = next(
            d
            for d in client.get("/v1/documents").json()["documents"]
            if d["source"].endswith("chess.txt")
        )
        deleted = client.delete(f"/v1/documents/{chess['doc_id']}").json()
        assert deleted == {"removed": [chess["doc_id"]], "generation": 2}
        hits = search(client, "castling king rook", mode="sparse").json()["results"]
        assert all(not r["source"].endswith("chess.txt") for r in hits)
        assert client.get("/v1/documents").json()["total"] == 5


def test_service_without_an_index_is_not_ready(tmp_path: Path, real_embedder: Embedder) -> None:
    with running_service(make_settings(tmp_path / "none"), real_embedder) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "no index" in ready.json()["reason"]
        down = search(client, "tides")
        assert down.status_code == 503 and "rag ingest" in down.json()["error"]
