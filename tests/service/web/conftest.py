"""A real service over a small real index, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.embedding import Embedder
from rag.settings import Settings, build_settings
from tests.conftest import ROOT, write_facts
from tests.openai_server import fake_openai
from tests.service_helpers import running_service

ARTEFACTS = ROOT / "test-artifacts" / "web"
# Without the background-networking flags chromium keeps dialling out, and on a
# closed network its connections are refused en masse.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = (
    "The lighthouse keeper writes every passing ship into the logbook. "
    "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>\n"
)
KEY = "web-key-789"


def missing(reason: str) -> None:
    """Skip here, but fail in CI, where the browser is installed on purpose."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must install it")
    pytest.skip(reason)


def web_settings(index: Path, **service: object) -> Settings:
    return build_settings({"index_dir": index, "service": service}, use_env=False)


@pytest.fixture(scope="session")
def web_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """The six facts documents and one with hostile HTML in its text, real model."""
    from ingest.run import Options, run_ingest

    root = tmp_path_factory.mktemp("web")
    corpus = write_facts(root / "corpus")
    (corpus / "lighthouse.txt").write_text(HOSTILE, encoding="utf-8")
    report = run_ingest(web_settings(root / "index"), Options([corpus]), lambda: real_embedder)
    assert report.added == 7 and not report.failed
    return root / "index"


@pytest.fixture(scope="module")
def service(web_index: Path, real_embedder: Embedder) -> Iterator[httpx.Client]:
    """The service; its `openai` generator is the fake server's `scripted` draft."""
    with fake_openai() as root:
        openai = {"base_url": f"{root}/scripted/v1", "timeout_s": 10.0, "deadline_s": 20.0}
        settings = build_settings({"index_dir": web_index, "openai": openai}, use_env=False)
        with running_service(settings, real_embedder) as client:
            yield client


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        yield launched
        launched.close()


@contextmanager
def open_page(browser: Any, width: int, height: int, mobile: bool = False) -> Iterator[Any]:
    """A page in a fresh browser context; an uncaught script error fails the test."""
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile)
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"the page's scripts failed: {errors}"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with open_page(browser, 1280, 900) as opened:
        yield opened


def screenshot(page: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
