"""`rag ask "question" --index DIR [--json]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rag.answer.answerer import Answer, Answerer
from rag.answer.batch import BatchLine, read_questions, run_batch
from rag.answer.build import make_answerer
from rag.answer.serialize import answer_data
from rag.cli import exit_codes
from rag.cli.options import add_collection, add_common, in_collection
from rag.embedding import make_embedder
from rag.errors import ConfigError
from rag.llm.lazy import LazyLLM
from rag.modes import FusionMode, GeneratorKind, QueryTransformKind
from rag.retrieval.open import open_retriever
from rag.settings import load_settings

HELP = """Answer a question from the indexed documents, every sentence cited and
checked; refuse when the documents do not say.

examples:
  rag ask "How are encrypted PDFs handled?" --index .rag/index
  rag ask "What does RRF do?" --generator extractive --json
  rag ask --batch questions.jsonl --out answers.jsonl   # {"id": ..., "question": ...} a line
"""


DRAFT_END = "--- checked against the passages:"


def add_ask_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "ask",
        help="answer a question with citations",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("question", nargs="?")
    add_common(parser)
    add_collection(parser)
    parser.add_argument(
        "--batch", type=Path, metavar="FILE", help="answer a JSON-lines file of questions"
    )
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="with --batch: the answers, one JSON line each"
    )
    parser.add_argument(
        "--generator",
        choices=GeneratorKind.choices(),
        help="local LLM (default), OpenAI-compatible server (openai.*), or extractive",
    )
    parser.add_argument(
        "--mode", help="retrieval fusion: minmax (default: retrieval.mode), rrf, dense, sparse"
    )
    parser.add_argument(
        "--transform",
        choices=QueryTransformKind.choices(),
        help="LLM query rewriting before retrieval (default none)",
    )
    parser.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    parser.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        help="print the draft as it is generated, then the checked answer "
        "(default: when standard output is a terminal)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(
        args.config,
        index_dir=args.index,
        answer__generator=args.generator,
        answer__query_transform=args.transform,
    )
    settings = in_collection(settings, args)
    mode = FusionMode.parse(args.mode or settings.retrieval.mode)
    if (args.batch is None) == (args.question is None):
        raise ConfigError("give a question, or --batch FILE --out FILE", "not both")
    if args.batch is not None and args.out is None:
        raise ConfigError("--batch needs --out FILE", "name the file for the answers")
    lines = read_questions(args.batch) if args.batch is not None else []
    embedder = make_embedder(settings.embedding)
    llm = LazyLLM(settings)
    try:
        with open_retriever(settings, embedder, llm) as retriever:
            answerer = make_answerer(settings, retriever, embedder, llm)
            if args.batch is not None:
                return _batch(answerer, lines, args.out, mode)
            live = not args.json and (sys.stdout.isatty() if args.stream is None else args.stream)
            answer = _ask(answerer, args.question, mode, live)
    finally:
        llm.close()
    print(json.dumps(answer_data(answer), indent=2) if args.json else as_text(answer))
    return exit_codes.OK


def _batch(answerer: Answerer, lines: list[BatchLine], out: Path, mode: FusionMode) -> int:
    progress = sys.stderr.isatty()
    report = run_batch(lines, lambda q: answer_data(answerer.answer(q, mode)), out, progress)
    print(f"{report.summary()}; answers in {out}")
    return exit_codes.PARTIAL if report.failed else exit_codes.OK


def _ask(answerer: Answerer, question: str, mode: FusionMode, live: bool) -> Answer:
    """The checked answer; with `live`, the draft is printed first as it comes."""
    if not live:
        return answerer.answer(question, mode)
    result = None
    for event in answerer.stream(question, mode):
        if isinstance(event, Answer):
            result = event
        elif isinstance(event, str):
            sys.stdout.write(event)
            sys.stdout.flush()
    assert result is not None
    if result.draft:
        print(f"\n{DRAFT_END}")
    return result


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
        if page is not None and c.passage.ocr_pages(page, page):
            pages += " (read by OCR)"
        lines.append(
            f"[{c.marker}] {c.passage.title}{pages} ({c.passage.source_path}, "
            f'chars {c.span_start}-{c.span_end}): "{c.supporting_text}"'
        )
    return "\n".join(lines)
