"""The FastAPI application: routers, error mapping, middleware, lifespan.

Heavy state (embedding model, index generation) loads in the lifespan
handler, never at import.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from rag import __version__
from rag.embedding import Embedder, make_embedder
from rag.index.collections import DEFAULT
from rag.index.snapshot import ShardOpener, local_shards
from rag.llm.lazy import LazyLLM
from rag.retrieval.rerank import make_reranker
from rag.service import docs_pages, errors, mcp_server, page
from rag.service.admission import Admission
from rag.service.batches import BatchStore
from rag.service.deps import Models
from rag.service.jobs import Jobs
from rag.service.library import Library
from rag.service.metrics import Metrics
from rag.service.middleware import AccessLog, BodyLimit
from rag.service.routes import admin, chat, collections, documents, health, query, search
from rag.service.routes import batches as batch_routes
from rag.settings import Settings

log = logging.getLogger("rag.service")
EmbedderFactory = Callable[[Settings], Embedder]


def default_embedder(settings: Settings) -> Embedder:
    return make_embedder(settings.embedding)


class McpEndpoint:
    """`/mcp`: the MCP tools over streamable HTTP (`rag.service.mcp_server`), made
    in the lifespan, once the index and models are loaded."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await scope["app"].state.mcp(scope, receive, send)


def create_app(
    settings: Settings,
    embedder: EmbedderFactory = default_embedder,
    shards: ShardOpener = local_shards,
) -> FastAPI:
    """The service; `shards` opens each generation's shard searchers (here, or
    on a Ray cluster: `rag.distributed.serve`)."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = await run_in_threadpool(embedder, settings)
        llm = LazyLLM(settings)
        reranker = await run_in_threadpool(make_reranker, settings, llm)
        library = Library(settings, model, reranker, shards)
        app.state.embedder = model
        app.state.llm = llm
        await run_in_threadpool(library.refresh)
        library.watch()
        app.state.library = library
        app.state.jobs = Jobs()
        manager = mcp_server.http_manager(
            mcp_server.build_server(mcp_server.Backend(library, model, llm, metrics)),
            settings,
        )
        app.state.mcp = mcp_server.keyed_endpoint(manager, settings)
        service = settings.service
        runner = batch_routes.line_runner(library, Models(model, llm, metrics))
        app.state.batches = BatchStore(
            service.batch_dir, runner, service.max_batch_bytes, service.max_batch_lines
        )
        async with manager.run():
            yield
        app.state.batches.close()
        library.close()
        app.state.llm.close()

    app = FastAPI(
        title="rag",
        version=__version__,
        lifespan=lifespan,
        description="Hybrid retrieval over your own documents.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    errors.install(app)
    for module in (health, search, query, chat, batch_routes, documents, collections, admin):
        app.include_router(module.router)
    page.install(app)
    docs_pages.install(app)
    app.router.routes.append(Route("/mcp", endpoint=McpEndpoint(), include_in_schema=False))

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        library: Library | None = getattr(app.state, "library", None)
        generation = library.get(DEFAULT).holder.generation if library else None
        if generation is not None:  # the default collection's; others are not named here
            metrics.generation.set(generation)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(
        BodyLimit,
        limit=settings.service.max_body_bytes,
        larger={"/v1/files": settings.service.max_batch_bytes + 65536},  # the form's own bytes
        streamed=("/v1/collections/", settings.service.max_upload_mb << 20),
    )
    app.add_middleware(Admission, settings=settings.service, metrics=metrics)
    app.add_middleware(AccessLog, metrics=metrics)  # outermost: refused bodies are logged too
    return app
