"""What `rag tune` chose for an index, kept beside its generations.

    INDEX/tune/questions.jsonl   the synthetic questions, by chunk text hash
    INDEX/tune/tuned.json        the tuning in force: weights by fusion mode,
                                 and what they were chosen on (generation,
                                 fingerprint, sample, seed, model, figures)

The weights are a property of the corpus, not of one generation: they stay in
force across ingests until `rag tune` runs again or `rag tune --undo` removes
`tuned.json` (the questions stay, so tuning again costs no LLM time for the
chunks that did not change).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.modes import FusionMode

TUNE_DIR = "tune"
TUNED = "tuned.json"
QUESTIONS = "questions.jsonl"
VERSION = 1

# The fusion weights (dense, BM25) tuned for each fusion mode.
TunedWeights = dict[FusionMode, tuple[float, float]]


def tune_dir(index_dir: Path) -> Path:
    return index_dir / TUNE_DIR


def read_record(index_dir: Path) -> dict[str, Any] | None:
    path = tune_dir(index_dir) / TUNED
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}", "run rag tune again") from None
    if not isinstance(record, dict) or record.get("version") != VERSION:
        raise ConfigError(f"{path} is not a tuning record of version {VERSION}", "run rag tune")
    return record


def tuned_weights(index_dir: Path) -> TunedWeights | None:
    """The fusion weights in force for `index_dir`, by mode; None when untuned."""
    record = read_record(index_dir)
    if record is None:
        return None
    return {
        FusionMode.parse(mode): (float(w["dense"]), float(w["sparse"]))
        for mode, w in record["weights"].items()
    }


def write_record(index_dir: Path, record: dict[str, Any]) -> Path:
    """Written whole or not at all (a temporary file renamed into place)."""
    path = tune_dir(index_dir) / TUNED
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"version": VERSION, **record}, indent=2) + "\n", "utf-8")
    partial.replace(path)
    return path


def undo(index_dir: Path) -> bool:
    """Removes the tuning in force; False when there was none."""
    path = tune_dir(index_dir) / TUNED
    if not path.is_file():
        return False
    path.unlink()
    return True
