"""`rag serve --engine ray`: the same HTTP API on Ray Serve.

Two kinds of deployment:
- `shard-NNN`, one per shard of the index: `ShardServer` replicas answer that
  shard's dense and BM25 top k (`ray.shard_replicas` each, or autoscaled);
- `front`: the service's own FastAPI app (`rag.service.app`, as Ray Serve's
  ingress), `ray.replicas` of it (or autoscaled), each embedding questions
  and fanning every search out to the shard deployments, then fusing and
  loading passages from the generation's store.

How an index update reaches every replica: each front replica watches
`CURRENT` (`service.reload_interval_s`) and swaps to a new generation once
it has opened and checked it, as the local service does; every shard call
names the generation folder it is for, and a shard replica opens a
generation on the first call that names it, keeping the two newest, so a
request in flight on the old generation finishes on it. The index folder
must be on a file system every node sees.
"""

from __future__ import annotations

import signal
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rag.errors import IndexMismatchError
from rag.index.bm25 import SparseHits
from rag.index.dense import DenseHits
from rag.index.fanout import ShardSearcher
from rag.index.generations import current_generation
from rag.index.manifest import Manifest
from rag.index.shards import Shard, open_shard
from rag.index.snapshot import EMBEDDINGS
from rag.settings import Settings

APP = "rag"
KEPT_GENERATIONS = 2  # the live one and the one before, for requests still on it
CALL_TIMEOUT_S = 30.0
Ints = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]


class ShardServer:
    """One shard's searches, for whichever generation a call names."""

    def __init__(self, shard: int) -> None:
        self._shard = shard
        self._open: OrderedDict[str, Shard] = OrderedDict()
        self._lock = threading.Lock()

    def dense_hits(self, folder: str, query: Vectors, k: int, allowed: Ints | None) -> DenseHits:
        return self._opened(folder).dense_hits(query, k, allowed)

    def sparse_hits(
        self, folder: str, terms: Sequence[str], k: int, allowed: Ints | None
    ) -> SparseHits:
        return self._opened(folder).sparse_hits(terms, k, allowed)

    def _opened(self, folder: str) -> Shard:
        with self._lock:
            if folder in self._open:
                self._open.move_to_end(folder)
                return self._open[folder]
            path = Path(folder)
            manifest = Manifest.read(path)
            embeddings = np.load(path / EMBEDDINGS, mmap_mode="r")
            shard = open_shard(
                path, self._shard, manifest.shard_bounds, embeddings, manifest.dimension
            )
            self._open[folder] = shard
            while len(self._open) > KEPT_GENERATIONS:
                self._open.popitem(last=False)
            return shard


@dataclass(frozen=True)
class RemoteShard:
    """A shard searched by its deployment's replicas, for one generation."""

    start: int
    stop: int
    folder: str
    handle: Any  # ray.serve.handle.DeploymentHandle

    def dense_hits(self, query: Vectors, k: int, allowed: Ints | None) -> DenseHits:
        call = self.handle.dense_hits.remote(self.folder, query, k, allowed)
        hits: DenseHits = call.result(timeout_s=CALL_TIMEOUT_S)
        return hits

    def sparse_hits(self, terms: Sequence[str], k: int, allowed: Ints | None) -> SparseHits:
        call = self.handle.sparse_hits.remote(self.folder, list(terms), k, allowed)
        hits: SparseHits = call.result(timeout_s=CALL_TIMEOUT_S)
        return hits


@dataclass(frozen=True)
class RemoteShards:
    """Opens a generation's shards as the shard deployments (a `ShardOpener`)."""

    handles: list[Any]

    def __call__(
        self, folder: Path, manifest: Manifest, embeddings: Vectors
    ) -> list[ShardSearcher]:
        bounds = manifest.shard_bounds
        if len(bounds) - 1 != len(self.handles):
            raise IndexMismatchError(
                f"{manifest.path}: the generation has {len(bounds) - 1} shard(s), "
                f"the deployment serves {len(self.handles)}",
                "run `rag serve --engine ray` again to deploy the new shard count",
            )
        where = str(folder.resolve())
        return [
            RemoteShard(bounds[i], bounds[i + 1], where, handle)
            for i, handle in enumerate(self.handles)
        ]


class Front:
    """The service's FastAPI app, its searches fanned out to the shard deployments."""

    def __init__(self, settings: Settings, shards: list[Any]) -> None:
        self._settings = settings
        self._shards = shards

    def __serve_build_asgi_app__(self) -> Any:
        from rag.service.app import create_app

        return create_app(self._settings, shards=RemoteShards(self._shards))


def deployment_options(settings: Settings, replicas: int, cpus: float) -> dict[str, Any]:
    """Fixed replicas, or autoscaling between the bounds (`ray.autoscaling`)."""
    r = settings.ray
    options: dict[str, Any] = {"ray_actor_options": {"num_cpus": cpus}}
    if r.autoscaling:
        options["autoscaling_config"] = {
            "min_replicas": r.min_replicas,
            "max_replicas": r.max_replicas,
            "target_ongoing_requests": r.target_ongoing_requests,
        }
    else:
        options["num_replicas"] = replicas
    return options


def build_app(settings: Settings, shard_count: int) -> Any:
    from ray import serve

    r = settings.ray
    shard: Any = serve.deployment(ShardServer)
    shards = [
        shard.options(
            name=f"shard-{i:03d}", **deployment_options(settings, r.shard_replicas, r.shard_cpus)
        ).bind(i)
        for i in range(shard_count)
    ]
    front: Any = serve.deployment(serve.ingress()(Front))
    options = deployment_options(settings, r.replicas, r.front_cpus)
    return front.options(name="front", **options).bind(settings, shards)


def run_ray_serve(settings: Settings) -> None:
    """Deploy on the cluster at `ray.address` and serve until SIGINT or SIGTERM,
    then take the deployments down."""
    from ray import serve

    from rag.distributed.cluster import connected

    index = Manifest.read(current_generation(settings.index_dir))
    stop = threading.Event()
    with connected(settings.ray.address):
        for sig in (signal.SIGINT, signal.SIGTERM):  # after joining: Ray sets its own
            signal.signal(sig, lambda *_: stop.set())
        serve.start(
            http_options={"host": settings.service.host, "port": settings.service.port},
            proxy_location="HeadOnly",
        )
        # Replicas run elsewhere (another working folder, their share of a node's CPUs).
        threads = max(1, int(settings.ray.front_cpus))
        resolved = settings.model_copy(update={"index_dir": settings.index_dir.resolve()})
        resolved = resolved.with_changes(embedding={"threads": threads})
        serve.run(build_app(resolved, len(index.shard_bounds) - 1), name=APP, route_prefix="/")
        print(
            f"serving {settings.index_dir} on http://{settings.service.host}:"
            f"{settings.service.port} through Ray Serve",
            flush=True,
        )
        try:
            stop.wait()
        finally:
            serve.delete(APP)
