"""`rag ingest --engine ray`: the local ingest with its heavy stages on Ray.

Scanning, change detection, the store and the generation switch stay in this
process (`ingest.run`), so the index equals a local ingest of the same
corpus. The changed files go through Ray Data: read (one row per file),
parse (a task per file), chunk and embed (`ray.embed_workers` actors with
one model each, `ray.files_per_batch` files at a time), then the shards'
BM25 and FAISS parts are written by one task per shard (`stages`).

A worker that dies is restarted and its work retried (`ray.max_retries`
times); if it still fails, the run raises `ClusterError` before anything is
published, leaving the live generation as it was. The switch happens once,
in this process, after every part is written.

One difference from the local engine: every document of a changed file is
chunked and embedded on the cluster (the local engine reuses stored vectors
by text hash); unchanged documents are still taken from the live generation.
"""

from __future__ import annotations

import functools
import pickle
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ingest.engine import PreparedFile
from ingest.parsing import ParseFailure
from ingest.report import IngestReport
from ingest.run import Options, run_ingest
from rag.distributed import stages
from rag.distributed.cluster import connected
from rag.embedding import Embedder
from rag.errors import ClusterError, RagError
from rag.index.bm25 import CorpusStats
from rag.settings import Settings


def run_ray_ingest(settings: Settings, options: Options) -> IngestReport:
    """Ingest `options.paths` with the cluster at `settings.ray.address`."""
    with connected(settings.ray.address):
        return run_ingest(settings, options, _no_local_model, RayEngine(settings))


def _no_local_model() -> Embedder:
    raise AssertionError("the Ray engine embeds on the cluster")


class RayEngine:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._shape: tuple[int, int] | None = None

    def prepare(self, paths: list[Path]) -> Iterator[tuple[Path, PreparedFile | ParseFailure]]:
        if not paths:
            return
        for row in _failing_as_cluster_error(self._dataset(paths).iter_rows()):
            self._shape = (int(row["shape"][0]), int(row["shape"][1]))
            yield paths[int(row["order"])], pickle.loads(row["prepared"])

    def shape(self) -> tuple[int, int]:
        if self._shape is None:  # nothing was embedded: ask one worker for the model's shape
            import ray

            task = ray.remote(_model_shape).options(num_cpus=self._settings.ray.embed_cpus)
            self._shape = _get(task.remote(self._settings))
        return self._shape

    def write_shards(
        self,
        folder: Path,
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32],
        bounds: list[int],
    ) -> int:
        import ray

        s, count = self._settings, len(bounds) - 1
        analyse = ray.remote(stages.analyse).options(num_returns=2, num_cpus=s.ray.parse_cpus)
        # Two object refs per shard (num_returns=2): its analysed texts, its statistics.
        parts: list[Any] = [
            analyse.remote(list(texts[bounds[i] : bounds[i + 1]]), s.tokenizer)
            for i in range(count)
        ]
        corpus = CorpusStats.merged(_get([stats for _, stats in parts]))
        build = ray.remote(stages.build).options(num_cpus=s.ray.parse_cpus)
        corpus_ref = ray.put(corpus)
        _get(
            [
                build.remote(
                    str(folder.resolve()),
                    i,
                    count,
                    analysed,
                    ray.put(np.ascontiguousarray(vectors[bounds[i] : bounds[i + 1]])),
                    corpus_ref,
                    s.bm25,
                    s.dense,
                )
                for i, (analysed, _) in enumerate(parts)
            ]
        )
        return len(corpus.df)

    def _dataset(self, paths: list[Path]) -> Any:
        import ray.data
        from ray.util.annotations import RayDeprecationWarning

        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # files come back in the order given
        context.enable_progress_bars = False
        rows = [{"order": i, "path": str(p.resolve())} for i, p in enumerate(paths)]
        files = ray.data.from_items(rows, override_num_blocks=len(rows))
        with warnings.catch_warnings():
            # Retries and placement have no named parameter in Ray 2.60 (`ray_remote_args`).
            warnings.simplefilter("ignore", category=RayDeprecationWarning)
            return self._stages(files)

    def _stages(self, files: Any) -> Any:
        import ray.data

        s, r = self._settings, self._settings.ray
        parsed = files.map(
            functools.partial(stages.parse, settings=s.ingest),
            num_cpus=r.parse_cpus,
            max_retries=r.max_retries,
        )
        return parsed.map_batches(
            stages.ChunkEmbed,
            fn_constructor_args=(s,),
            batch_size=r.files_per_batch,
            compute=ray.data.ActorPoolStrategy(size=r.embed_workers),
            num_cpus=r.embed_cpus,
            max_restarts=r.max_retries,
            max_task_retries=r.max_retries,
            scheduling_strategy="SPREAD",
        )


def _model_shape(settings: Settings) -> tuple[int, int]:
    from rag.embedding import make_embedder

    embedder = make_embedder(settings.embedding)
    return embedder.dimension, embedder.max_tokens


def _failing_as_cluster_error(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    import ray.exceptions

    try:
        yield from rows
    except ray.exceptions.RayError as exc:
        raise _unwrapped(exc) from None


def _get(refs: Any) -> Any:
    import ray
    import ray.exceptions

    try:
        return ray.get(refs)
    except ray.exceptions.RayError as exc:
        raise _unwrapped(exc) from None


def _unwrapped(exc: Exception) -> RagError:
    """Our own error raised on a worker (a shard that could not be written) as
    it was raised; anything else (a worker that kept dying) as `ClusterError`."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, RagError):
        return cause
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ClusterError(f"the Ray cluster's work failed after its retries: {first}")
