"""Running the real service on a loopback port inside the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from rag.embedding import Embedder
from rag.service.app import create_app
from rag.settings import Settings, build_settings


def extractive_settings(index: Path, key: str) -> Settings:
    """The service over `index` with one user key and the extractive generator
    (no model runs: fast, and the same answer every time)."""
    data = {
        "index_dir": index,
        "answer": {"generator": "extractive"},
        "service": {"user_keys": [key]},
    }
    return build_settings(data, use_env=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_service(settings: Settings, embedder: Embedder) -> Iterator[httpx.Client]:
    """The app under uvicorn on 127.0.0.1, and an HTTP client pointed at it."""
    port = free_port()
    app = create_app(settings, embedder=lambda _: embedder)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("service did not start")
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)
