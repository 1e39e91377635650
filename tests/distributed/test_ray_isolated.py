"""The Ray tests, run in a network namespace of their own that holds only a
loopback interface: Ray then has no address but 127.0.0.1 to register its
nodes under, so no packet of the cluster's leaves loopback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.distributed.ray_cluster import NETNS_ENV

pytest.importorskip("ray", reason="the Ray engine needs the ray extra (pip install 'rag[ray]')")
MODULE = "tests/distributed/test_ray.py"
RAY_TESTS = 4


def _can_isolate() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare (util-linux) and ip (iproute2)"
    if os.geteuid() != 0:
        return "a new network namespace needs root"
    return None


def test_ray_suite_in_a_loopback_only_network_namespace() -> None:
    missing = _can_isolate()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Ray tests: {missing}")
        pytest.skip(missing)
    inner = f'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider {MODULE}'
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", inner, sys.executable],
        cwd=ROOT,
        env={**os.environ, NETNS_ENV: "1"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    report = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert re.search(rf"\b{RAY_TESTS} passed\b", done.stdout), report
