"""Published figures to report beside ours (nDCG@10 on the BEIR test split).

Sources as listed in `../shared/datasets/README.md`: Pyserini's BEIR
regressions and fusion runs, and the MTEB results. Keyed by the SHA-256 of the
BEIR `corpus.jsonl`, so they appear only for the corpus they were measured on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    method: str
    ndcg_at_10: float
    source: str


SCIFACT_CORPUS_SHA256 = "dec31c8182f3d744c7d2c09423756fd1d17cbef75808db13ba01cc0aab4d1ac6"

PUBLISHED: dict[str, tuple[Reference, ...]] = {
    SCIFACT_CORPUS_SHA256: (
        Reference("BM25 flat (Lucene, Porter)", 0.6789, "Pyserini BEIR regressions"),
        Reference("BM25 multifield", 0.6647, "Pyserini BEIR regressions"),
        Reference("all-MiniLM-L6-v2", 0.6451, "MTEB results"),
        Reference("bge-small-en-v1.5", 0.7127, "MTEB results"),
        Reference("bge-base-en-v1.5", 0.7408, "Pyserini"),
        Reference("BM25 + bge-base, RRF (k=60)", 0.7420, "Pyserini fusion runs"),
        Reference("BM25 + bge-base, min-max fusion", 0.7472, "Pyserini fusion runs"),
        Reference("Haystack 3.4, MiniLM, RRF", 0.692, "measured on these machines"),
        Reference("Haystack 3.4, MiniLM, distribution-based", 0.701, "measured on these machines"),
    )
}


def published_for(corpus_sha256: str) -> tuple[Reference, ...]:
    return PUBLISHED.get(corpus_sha256, ())
