"""The web page's routes: served from the package, without a key, with local assets only."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.service.app import create_app
from rag.settings import build_settings
from tests.conftest import ROOT
from tests.fakes import KeywordEmbedder

WEB = files("rag.service") / "web"
REMOTE = re.compile(r"(?:https?:)?//[\w.-]+\.\w+|@import|url\(\s*['\"]?(?!data:)")
JS_TYPES = ("text/javascript", "application/javascript")


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    """The app with keys configured; its lifespan (index, model) is not needed here."""
    settings = build_settings(
        {"index_dir": tmp_path / "index", "service": {"user_keys": ["k1"]}}, use_env=False
    )
    return TestClient(create_app(settings, embedder=lambda _: KeywordEmbedder()))


def local_assets() -> list[str]:
    html = WEB.joinpath("index.html").read_text(encoding="utf-8")
    assets = re.findall(r'(?:src|href)="(/web/[^"]+)"', html)
    for name in ("app.js", "render.js", "api.js"):
        script = WEB.joinpath(name).read_text(encoding="utf-8")
        assets += [f"/web/{m}" for m in re.findall(r'from "\./([\w.]+)"', script)]
    return sorted(set(assets))


def test_page_is_served_without_a_key_with_its_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/web/app.js"></script>' in page.text


def test_assets_are_local_and_served_with_their_types(client: TestClient) -> None:
    assets = local_assets()
    assert {"/web/app.js", "/web/api.js", "/web/render.js", "/web/style.css"} <= set(assets)
    for path in assets:
        reply = client.get(path)
        assert reply.status_code == 200, path
        kind = reply.headers["content-type"]
        assert kind.startswith(JS_TYPES if path.endswith(".js") else "text/css"), (path, kind)
    for item in WEB.iterdir():
        text = item.read_text(encoding="utf-8")
        assert not REMOTE.findall(text), f"{item.name} loads something from elsewhere"
    assert client.get("/web/nothing.js").status_code == 404


def test_the_api_routes_around_the_page_still_answer(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "rag_requests_total" in client.get("/metrics").text
    assert "swagger" in client.get("/docs").text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/query" in paths and "/" not in paths


def test_every_page_file_is_in_the_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["rag.service"]
    names = [f"web/{item.name}" for item in WEB.iterdir()]
    assert "web/index.html" in names
    missed = [n for n in names if not any(fnmatch.fnmatch(n, p) for p in patterns)]
    assert not missed, f"add {missed} to [tool.setuptools.package-data] in pyproject.toml"
