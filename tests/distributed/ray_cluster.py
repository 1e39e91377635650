"""A real two-node Ray cluster on loopback, for the tests: a head and a worker
node, each `ray start --block` in its own process group with one CPU, so
stopping the cluster ends exactly the processes it started (never `ray stop`,
which stops every Ray process of the user on the machine)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.service_helpers import free_port

START_TIMEOUT_S = 120
NETNS_ENV = "RAG_TEST_RAY_NETNS"  # set inside the namespace the Ray tests run in
STOP_GRACE_S = 5


@contextlib.contextmanager
def loopback_cluster(log_dir: Path) -> Iterator[str]:
    """Start a head and a worker node; yields the cluster's address."""
    ray = str(Path(sys.executable).with_name("ray"))
    # A short path: Ray's unix sockets live under it (108 bytes at most).
    temp = Path(tempfile.mkdtemp(prefix="rayt-", dir="/tmp"))
    port = free_port()
    common = ["--block", "--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    head = [
        ray,
        "start",
        "--head",
        f"--port={port}",
        "--include-dashboard=false",
        f"--temp-dir={temp}",
        f"--ray-client-server-port={free_port()}",
        *common,
    ]
    worker = [ray, "start", f"--address=127.0.0.1:{port}", *common]
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(_start(head, log_dir / "ray-head.log"))
        _wait_for_nodes(ray, port, 1, started)
        started.append(_start(worker, log_dir / "ray-worker.log"))
        _wait_for_nodes(ray, port, 2, started)
        yield f"127.0.0.1:{port}"
    finally:
        for process in reversed(started):
            _stop_group(process)
        subprocess.run(["rm", "-rf", str(temp)], check=False)


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_for_nodes(
    ray: str, port: int, nodes: int, started: list[subprocess.Popen[bytes]]
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in started):
            raise RuntimeError("a Ray node exited while starting; see its log")
        status = subprocess.run(
            [ray, "status", f"--address=127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if status.returncode == 0 and status.stdout.count("node_") >= nodes:
            return
        time.sleep(1)
    raise RuntimeError(f"the Ray cluster did not reach {nodes} node(s) in {START_TIMEOUT_S} s")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the node's process group, SIGKILL to what is left after a grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and _group_alive(process.pid):
        process.poll()
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_GRACE_S)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
