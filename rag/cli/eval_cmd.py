"""`rag eval retrieval|answers|refusal|judge|compare`: the benchmark suites."""

from __future__ import annotations

import argparse
import importlib.util
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.cli import exit_codes
from rag.cli.options import add_common
from rag.errors import ConfigError
from rag.modes import GeneratorKind
from rag.settings import load_settings

HELP = """Measure retrieval and answers on public benchmarks; compare two runs.

Each run writes a results folder (--out): results.json with every per-item
score, the configuration, versions, dataset hashes and git commit; summary.md;
PNG plots. A stopped run continues with --resume; --limit takes a stable slice.

examples:
  rag eval retrieval --dataset ../shared/datasets/beir-scifact --split test
  rag eval answers --dataset ../shared/datasets/squad-v1.1-dev --limit 50
  rag eval refusal --dataset ../shared/datasets/squad-v1.1-dev --limit 40
  rag eval judge --dataset ../shared/datasets/scifact-claims --limit 200
  rag eval compare eval-runs/retrieval-A eval-runs/retrieval-B
"""
SUITES = ("retrieval", "answers", "refusal", "judge")


def add_eval_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "eval",
        help="benchmark suites",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    suites = parser.add_subparsers(dest="suite", required=True, metavar="SUITE")
    for name in SUITES:
        sub = suites.add_parser(name, help=f"the {name} suite")
        add_common(sub)
        sub.add_argument("--dataset", type=Path, required=True, metavar="PATH")
        sub.add_argument("--out", type=Path, metavar="DIR", help="results folder")
        sub.add_argument("--limit", type=int, metavar="N", help="score a stable slice of N items")
        sub.add_argument("--resume", action="store_true", help="continue the run in --out")
        sub.add_argument("--no-progress", action="store_true", help="no progress bars")
        sub.set_defaults(run=run)
    suites.choices["retrieval"].add_argument("--split", default="test", help="qrels split")
    suites.choices["judge"].add_argument("--split", default="validation", help="claims split")
    for name in ("answers", "refusal"):
        suites.choices[name].add_argument(
            "--generator", choices=GeneratorKind.choices(), help="answer backend"
        )
        suites.choices[name].add_argument(
            "--offset",
            type=int,
            default=0,
            metavar="N",
            help="skip the first N items of the stable order (a tuning slice apart from "
            "the reported one)",
        )
    suites.choices["answers"].add_argument(
        "--claims", type=Path, metavar="DIR", help="scifact-claims folder for judge validation"
    )
    suites.choices["answers"].add_argument(
        "--judge-limit",
        type=int,
        default=60,
        metavar="N",
        help="claim pairs to validate the faithfulness judge on (0: report no faithfulness)",
    )
    compare = suites.add_parser("compare", help="paired comparison of two runs")
    compare.add_argument("runs", nargs=2, type=Path, metavar="RUN")
    compare.add_argument("--metric", action="append", help="only this metric (repeatable)")
    compare.set_defaults(run=run_compare)


def run(args: argparse.Namespace) -> int:
    missing = [name for name in ("matplotlib", "ragas") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"the eval extra is not installed (no {', '.join(missing)})",
            "pip install -e '.[eval]'",
        )
    from eval.harness import run_suite

    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if getattr(args, "offset", 0) < 0:
        raise ConfigError("--offset must be 0 or more")
    settings = load_settings(
        args.config, index_dir=args.index, answer__generator=getattr(args, "generator", None)
    )
    out = args.out or Path("eval-runs") / f"{args.suite}-{_stamp()}"
    options = {k: v for k, v in vars(args).items() if k not in ("run", "config", "verbose")}
    results = run_suite(args.suite, options, settings, out, progress=not args.no_progress)
    print((results / ".." / "summary.md").resolve().read_text(encoding="utf-8"))
    print(f"results: {results}")
    return exit_codes.OK


def run_compare(args: argparse.Namespace) -> int:
    from eval.compare import compare_runs

    print(compare_runs(args.runs[0], args.runs[1], args.metric))
    return exit_codes.OK


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
