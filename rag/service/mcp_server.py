"""The index as Model Context Protocol tools, for assistants and IDEs.

Tools: `search` (ranked passages with file, pages and span), `ask` (the
checked answer with its citations, or the refusal), `list_documents` and
`get_document`. Each has a JSON schema from its parameters and returns
structured content (the same models as the HTTP API) beside its text.

Served over stdio by `rag mcp --index DIR`, and over streamable HTTP at
`/mcp` by `rag serve`, behind the same keys as the rest of the API. Every
tool takes an optional `collection`; over HTTP a key reaches only the
collections it may read, as on the other routes.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from fastapi import HTTPException
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import ValidationError

from rag import __version__
from rag.embedding import Embedder
from rag.errors import RagError
from rag.llm.lazy import LazyLLM
from rag.retrieval.filters import Filters
from rag.service.auth import EVERYONE, Principal, Role, keyed, principal_of
from rag.service.deps import Models
from rag.service.library import Collection, Library
from rag.service.metrics import Metrics
from rag.service.routes import documents
from rag.service.routes.query import Served, answer_events
from rag.service.routes.search import check_limits, run_search
from rag.service.schemas import (
    AnswerBody,
    DocumentDetail,
    DocumentList,
    SearchFilters,
    SearchRequest,
    SearchResponse,
)
from rag.settings import Settings

INSTRUCTIONS = (
    "Search and ask the user's own indexed documents. `ask` answers with every "
    "sentence cited and checked against its passage, or says the documents do not "
    "answer; `search` returns the passages themselves, with file, pages and span."
)
P = ParamSpec("P")
T = TypeVar("T")
ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


@dataclass
class Backend:
    """What the tools answer from: the collections and the models. Over stdio
    the caller is the local user, who reads every collection, `default_collection`
    unless a tool names another."""

    library: Library
    embedder: Embedder
    llm: LazyLLM
    metrics: Metrics | None = None
    default_collection: str | None = None

    def collection(self, ctx: Context, name: str | None) -> Collection:
        principal = self.caller(ctx)
        if name is None and principal is EVERYONE:
            name = self.default_collection
        return self.library.for_reader(principal, name)

    def caller(self, ctx: Context) -> Principal:
        """Over HTTP, the key of the request; over stdio, the local user."""
        request = ctx.request_context.request
        if request is None:
            return EVERYONE
        auth = str(getattr(request, "headers", {}).get("authorization", ""))
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        return principal_of(token, self.library.root.service)


def said(tool: Callable[P, T]) -> Callable[P, T]:
    """`tool`, with an expected failure (a bad argument, an unknown document, no
    index) turned into a tool error whose text says what to fix."""

    @functools.wraps(tool)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return tool(*args, **kwargs)
        except RagError as error:
            raise ToolError(str(error)) from None
        except HTTPException as error:
            raise ToolError(str(error.detail)) from None
        except ValidationError as error:
            raise ToolError(f"invalid arguments: {error}") from None

    return run


def build_server(backend: Backend) -> MCPServer:
    """The tools; a bad argument or a missing index is a tool error whose text
    says what to fix, as the HTTP API's 4xx bodies do."""
    server = MCPServer("rag", instructions=INSTRUCTIONS, version=__version__)

    @server.tool(structured_output=True)
    @said
    def search(
        ctx: Context,
        question: str,
        top_k: int = 10,
        doc_ids: list[str] | None = None,
        source_prefix: str | None = None,
        metadata: dict[str, str] | None = None,
        collection: str | None = None,
    ) -> SearchResponse:
        """Ranked passages for a question: document, file, pages, character span,
        snippet and scores. Filters: document ids, a source path prefix, metadata."""
        filters = SearchFilters(
            doc_ids=doc_ids or [], source_prefix=source_prefix, metadata=metadata or {}
        )
        name = backend.collection(ctx, collection).name
        body = SearchRequest(question=question, top_k=top_k, filters=filters, collection=name)
        return run_search(body, backend.library, backend.caller(ctx))[0]

    @server.tool(structured_output=True)
    @said
    def ask(
        ctx: Context, question: str, passages: int | None = None, collection: str | None = None
    ) -> AnswerBody:
        """A grounded answer: every sentence cited to a passage and checked against
        it, with the supporting span and pages; or the refusal when the documents
        do not answer."""
        found = backend.collection(ctx, collection)
        settings = found.settings
        if passages is not None:
            settings = settings.with_changes(answer={"passages": passages})
        check_limits(question, settings.answer.passages, settings)
        models = Models(backend.embedder, backend.llm, backend.metrics)
        events = answer_events(
            models, settings, found.holder, question, settings.retrieval.mode, Filters()
        )
        served = [e for e in events if isinstance(e, Served)][-1]
        return AnswerBody.served(served.answer, served.generation)

    @server.tool(structured_output=True)
    @said
    def list_documents(
        ctx: Context, limit: int = 100, offset: int = 0, collection: str | None = None
    ) -> DocumentList:
        """The indexed documents in source order: id, title, file, chunks, metadata."""
        holder = backend.collection(ctx, collection).holder
        return documents.list_documents(holder, limit, offset)

    @server.tool(structured_output=True)
    @said
    def get_document(ctx: Context, doc_id: str, collection: str | None = None) -> DocumentDetail:
        """One document's metadata and its chunks (text, pages, spans)."""
        holder = backend.collection(ctx, collection).holder
        return documents.get_document(doc_id, holder)

    return server


def http_manager(server: MCPServer, settings: Settings) -> StreamableHTTPSessionManager:
    """The session manager of `/mcp`. Stateless, so any replica can answer. The
    DNS-rebinding guard is on for a service without keys (which binds to
    loopback); with keys the bearer check guards it."""
    with_keys = keyed(settings.service)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=not with_keys)
    if not with_keys:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    return StreamableHTTPSessionManager(
        app=server._lowlevel_server, stateless=True, json_response=True, security_settings=security
    )


def keyed_endpoint(manager: StreamableHTTPSessionManager, settings: Settings) -> ASGIApp:
    """`/mcp` behind the API's keys: a request without a known key gets 401."""

    async def endpoint(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        if principal_of(token, settings.service).role is Role.NONE:
            body = b'{"detail": "missing or unknown API key: send \'Authorization: Bearer KEY\'"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b"Bearer"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await manager.handle_request(scope, receive, send)

    return endpoint
