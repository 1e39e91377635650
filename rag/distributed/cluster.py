"""Joining a Ray cluster: the package checked, the address reached, test
fault-injection variables passed on to the cluster's workers."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from rag.errors import ClusterError, ConfigError
from rag.index.checkpoints import ENV, ONCE_ENV


def require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError(
            "--engine ray needs Ray, which is not installed",
            "install the extra: pip install 'rag[ray]'",
        ) from None


@contextlib.contextmanager
def connected(address: str) -> Iterator[None]:
    """This process joined to the cluster at `address` until the block ends."""
    require_ray()
    import ray

    passed = {name: os.environ[name] for name in (ENV, ONCE_ENV) if name in os.environ}
    try:
        ray.init(
            address=address,
            runtime_env={"env_vars": passed} if passed else None,
            logging_level=logging.WARNING,
            log_to_driver=False,  # workers' output stays in the cluster's session logs
            # Ray registers this process under the machine's own address unless
            # told otherwise: a cluster on loopback keeps all its traffic there.
            _node_ip_address=_loopback_or_none(address),
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"cannot join the Ray cluster at {address}: {exc}") from None
    try:
        yield
    finally:
        ray.shutdown()


def _loopback_or_none(address: str) -> str | None:
    host = address.removeprefix("ray://").rsplit(":", 1)[0]
    return "127.0.0.1" if host in {"127.0.0.1", "localhost"} else None
