"""BEIR datasets: queries, relevance judgements, and chunk-to-document mapping."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.index.store import Store


@dataclass(frozen=True)
class BeirQueries:
    texts: dict[str, str]
    qrels: dict[str, dict[str, float]]  # query id -> document id -> relevance


def load_queries(folder: Path, split: str) -> BeirQueries:
    """Queries of `split` that have at least one relevance judgement."""
    qrels: dict[str, dict[str, float]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows)  # header
        for query_id, doc_id, score in rows:
            qrels.setdefault(query_id, {})[doc_id] = float(score)
    texts = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["_id"] in qrels:
                texts[record["_id"]] = record["text"]
    return BeirQueries(texts, qrels)


def beir_ids_by_position(store: Store) -> list[str]:
    """The BEIR document id of every chunk position (chunks of non-BEIR docs map to '')."""
    ids = {row.doc_id: row.metadata.get("beir_id", "") for row in store.documents()}
    return [ids[doc_id] for doc_id in store.doc_ids_by_position()]


def document_ranking(positions: Sequence[int], beir_ids: Sequence[str]) -> list[str]:
    """Documents in order of their best-ranked chunk."""
    return list(dict.fromkeys(beir_ids[p] for p in positions))
