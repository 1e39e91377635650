"""`rag ask "question" --index DIR [--json]`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rag.answer.answerer import Answer
from rag.answer.build import LazyLLM, make_answerer
from rag.answer.serialize import answer_data
from rag.cli import exit_codes
from rag.embedding import make_embedder
from rag.retrieval.fusion import FusionMode
from rag.retrieval.open import open_retriever
from rag.settings import load_settings

HELP = """Answer a question from the indexed documents, every sentence cited and
checked; refuse when the documents do not say.

examples:
  rag ask "How are encrypted PDFs handled?" --index .rag/index
  rag ask "What does RRF do?" --generator extractive --json
"""


def add_ask_parser(commands: Any) -> None:
    from rag.cli.main import add_common

    parser = commands.add_parser(
        "ask",
        help="answer a question with citations",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("question")
    add_common(parser)
    parser.add_argument(
        "--generator",
        choices=["local", "openai", "extractive"],
        help="local LLM (default), OpenAI-compatible server (openai.*), or extractive",
    )
    parser.add_argument("--mode", help="retrieval fusion: rrf (default), minmax, dense, sparse")
    parser.add_argument(
        "--transform",
        choices=["none", "multi-query", "hyde"],
        help="LLM query rewriting before retrieval (default none)",
    )
    parser.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(
        args.config,
        index_dir=args.index,
        answer__generator=args.generator,
        answer__query_transform=args.transform,
    )
    mode = FusionMode.parse(args.mode or settings.retrieval.mode)
    embedder = make_embedder(settings.embedding)
    llm = LazyLLM(settings)
    with open_retriever(settings, embedder) as retriever:
        answer = make_answerer(settings, retriever, embedder, llm).answer(args.question, mode)
    llm.close()
    print(json.dumps(answer_data(answer), indent=2) if args.json else as_text(answer))
    return exit_codes.OK


def as_text(answer: Answer) -> str:
    if answer.refused:
        return f"{answer.answer}\n({answer.reason})"
    lines = [answer.answer, ""]
    for verdict in answer.verdicts:
        if not verdict.supported:
            lines.append(f"unsupported: {verdict.sentence.text} ({verdict.method})")
    for c in answer.citations:
        page = c.passage.span_pages(c.span_start, c.span_end)[0]
        pages = "" if page is None else f", p. {page}"
        lines.append(
            f"[{c.marker}] {c.passage.title}{pages} ({c.passage.source_path}, "
            f'chars {c.span_start}-{c.span_end}): "{c.supporting_text}"'
        )
    return "\n".join(lines)
