"""`rag mcp --index DIR`: the index's MCP tools over stdio, for an assistant or IDE."""

from __future__ import annotations

import argparse
from typing import Any

from rag.cli import exit_codes
from rag.cli.options import add_collection, add_common
from rag.index.collections import DEFAULT, check_name
from rag.settings import load_settings

HELP = """Serve the index as Model Context Protocol tools (search, ask,
list_documents, get_document) over stdio: an MCP client starts this command
and speaks JSON-RPC on its stdin and stdout. Logs go to stderr.

Every collection under the index root can be read; tools read --collection
unless they name another.

example, in an MCP client's configuration:
  {"command": "rag", "args": ["mcp", "--index", "/data/index"]}
"""


def add_mcp_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "mcp",
        help="serve the index as MCP tools over stdio",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(parser)
    add_collection(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rag.embedding import make_embedder
    from rag.llm.lazy import LazyLLM
    from rag.retrieval.rerank import make_reranker
    from rag.service.library import Library
    from rag.service.mcp_server import Backend, build_server

    settings = load_settings(args.config, index_dir=args.index)
    name = check_name(args.collection or DEFAULT)
    embedder = make_embedder(settings.embedding)
    llm = LazyLLM(settings)
    library = Library(settings, embedder, make_reranker(settings, llm))
    library.refresh()
    library.get(name).holder.reload()  # none, or a damaged one: refused here, naming the file
    library.watch()
    try:
        build_server(Backend(library, embedder, llm, default_collection=name)).run("stdio")
    finally:
        library.close()
        llm.close()
    return exit_codes.OK
