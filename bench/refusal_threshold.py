"""Calibrating `answer.min_relevance`: best-passage cosine of answerable vs off-topic questions.

Answerable: a BEIR split's queries over that corpus's index (each has a relevant
document in it). Off-topic: SQuAD dev questions (another domain entirely). For
each threshold the table shows the share of each that would be refused before
generation.

    python bench/refusal_threshold.py --index scifact-index \
        --queries ../shared/datasets/beir-scifact --squad ../shared/datasets/squad-v1.1-dev
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from eval.beir import load_queries
from rag.embedding import SentenceTransformerEmbedder
from rag.index.dense import search_dense
from rag.index.snapshot import open_current
from rag.settings import EmbeddingSettings

THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)


def squad_questions(folder: Path, limit: int) -> list[str]:
    data = json.loads((folder / "dev-v1.1.json").read_text(encoding="utf-8"))["data"]
    questions = [
        qa["question"]
        for article in data[:20]
        for paragraph in article["paragraphs"][:3]
        for qa in paragraph["qas"][:2]
    ]
    return questions[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=Path("../shared/datasets/beir-scifact"))
    parser.add_argument("--split", default="train")
    parser.add_argument("--squad", type=Path, default=Path("../shared/datasets/squad-v1.1-dev"))
    parser.add_argument("--limit", type=int, default=400)
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder(EmbeddingSettings())
    snapshot = open_current(args.index)

    def best(texts: list[str]) -> np.ndarray:
        vectors = embedder.embed(texts)
        return np.array([search_dense(snapshot.dense, v, 1).scores[0] for v in vectors])

    answerable = best(list(load_queries(args.queries, args.split).texts.values()))
    off_topic = best(squad_questions(args.squad, args.limit))
    print(f"answerable n={len(answerable)}, off-topic n={len(off_topic)}")
    print("threshold  answerable refused  off-topic refused")
    for t in THRESHOLDS:
        print(f"{t:>9.2f}  {(answerable < t).mean():>18.3f}  {(off_topic < t).mean():>17.3f}")
    snapshot.close()


if __name__ == "__main__":
    main()
