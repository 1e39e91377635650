"""The MCP tools through the official `mcp` SDK's own client: over stdio from a
real `rag mcp` process, and over streamable HTTP at `/mcp` of the real service
behind its keys; the real index and embedding model throughout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from rag.embedding import Embedder
from rag.settings import build_settings
from tests.ingest.test_cli import ENV, RAG
from tests.service_helpers import extractive_settings, running_service

KEY = "mcp-user-key"
TOOLS = ["ask", "get_document", "list_documents", "search"]


async def exercise(client: Client) -> dict[str, Any]:
    """Every tool once; what each returned as structured content."""
    tools = await client.list_tools()
    found: dict[str, Any] = {"tools": sorted(t.name for t in tools.tools)}
    found["schemas"] = {t.name: t.input_schema for t in tools.tools}
    search = await client.call_tool("search", {"question": "waggle dance", "top_k": 2})
    found["search"] = search.structured_content
    found["search_text"] = search.content[0].text if search.content else ""
    listed = await client.call_tool("list_documents", {})
    found["list"] = listed.structured_content
    doc_id = listed.structured_content["documents"][0]["doc_id"]  # type: ignore[index]
    found["document"] = (
        await client.call_tool("get_document", {"doc_id": doc_id})
    ).structured_content
    found["ask"] = (
        await client.call_tool("ask", {"question": "Which animal uses a waggle dance?"})
    ).structured_content
    missing = await client.call_tool("get_document", {"doc_id": "0000000000000000"})
    found["missing"] = (missing.is_error, missing.content[0].text if missing.content else "")
    return found


def check(found: dict[str, Any]) -> None:
    assert found["tools"] == TOOLS
    assert found["schemas"]["search"]["required"] == ["question"]
    assert "top_k" in found["schemas"]["search"]["properties"]
    hits = found["search"]["results"]
    assert len(hits) == 2 and hits[0]["source"].endswith("bees.txt")
    assert hits[0]["char_end"] > hits[0]["char_start"] and "waggle" in found["search_text"]
    assert found["list"]["total"] == 6
    assert found["document"]["chunks"] and found["document"]["chunks"][0]["text"]
    answer = found["ask"]
    assert answer["refused"] is False and answer["citations"][0]["source"].endswith("bees.txt")
    assert all(s["supported"] for s in answer["sentences"])
    assert found["missing"][0] is True and "no such document" in found["missing"][1]


def test_the_mcp_client_uses_the_tools_over_stdio(facts_index: Path, tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text('[answer]\ngenerator = "extractive"\n', encoding="utf-8")
    params = StdioServerParameters(
        command=RAG, args=["mcp", "--index", str(facts_index), "--config", str(config)], env=ENV
    )

    async def main() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            return await exercise(client)

    check(anyio.run(main))


def test_the_mcp_client_uses_the_tools_over_http_behind_the_keys(
    facts_index: Path, real_embedder: Embedder
) -> None:
    settings = extractive_settings(facts_index, KEY)
    with running_service(settings, real_embedder) as http:
        url = f"{str(http.base_url).rstrip('/')}/mcp"
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert refused.status_code == 401

        async def main() -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {KEY}"}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=120) as keyed,
                Client(streamable_http_client(url, http_client=keyed)) as client,
            ):
                return await exercise(client)

        check(anyio.run(main))


@pytest.mark.slow
def test_mcp_ask_with_the_local_model_refuses_what_the_documents_do_not_say(
    facts_index: Path, real_embedder: Embedder
) -> None:
    settings = build_settings({"index_dir": facts_index}, use_env=False)
    with running_service(settings, real_embedder) as http:
        url = f"{str(http.base_url).rstrip('/')}/mcp"

        async def main() -> Any:
            async with Client(url) as client:
                result = await client.call_tool("ask", {"question": "Who won the 1998 world cup?"})
                return result.structured_content

        answer = anyio.run(main)
        assert answer["refused"] is True and answer["citations"] == []
