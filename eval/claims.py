"""SciFact claims with evidence labels, as pairs for validating a support judge.

Each pair is a claim and a passage. The passage of a SUPPORT or CONTRADICT
claim is its rationale sentences from the evidence abstract; the label says
whether the passage supports the claim (SUPPORT) or not (CONTRADICT). A claim
without evidence ("not enough info") is paired with the opening sentences of
an abstract it cites, and labelled unsupported.
"""

from __future__ import annotations

import ast
import csv
import re
from dataclasses import dataclass
from pathlib import Path

from eval.sampling import spread
from rag.errors import ConfigError

NEI_SENTENCES = 3
csv.field_size_limit(1 << 24)


@dataclass(frozen=True)
class ClaimPair:
    id: str
    claim: str
    passage: str
    label: str  # SUPPORT, CONTRADICT or NEI
    supported: bool


_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


def abstract_sentences(cell: str) -> list[str]:
    """The sentence list of a `corpus_train.csv` abstract (a printed array of strings)."""
    out = []
    for match in _QUOTED.finditer(cell):
        quoted = match.group(0)
        out.append(str(ast.literal_eval(quoted)))
    return out


def load_claim_pairs(
    folder: Path, split: str = "validation", limit: int | None = None
) -> list[ClaimPair]:
    """Pairs of `split`, spread over the labels by a stable order, first `limit` of them."""
    claims_file, corpus_file = folder / f"claims_{split}.csv", folder / "corpus_train.csv"
    for file in (claims_file, corpus_file):
        if not file.is_file():
            raise ConfigError(f"{file} is missing", "pass the scifact-claims folder")
    with corpus_file.open(encoding="utf-8", newline="") as handle:
        abstracts = {row["doc_id"]: row["abstract"] for row in csv.DictReader(handle)}
    pairs, seen = [], set()
    with claims_file.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            pair = _pair(row, abstracts)
            if pair is not None and pair.id not in seen:
                seen.add(pair.id)
                pairs.append(pair)
    if not any(p.label != "NEI" for p in pairs):
        raise ConfigError(f"{claims_file} has no labelled evidence", "use train or validation")
    return _balanced(pairs, limit)


def _pair(row: dict[str, str], abstracts: dict[str, str]) -> ClaimPair | None:
    label = row["evidence_label"]
    if label in ("SUPPORT", "CONTRADICT"):
        sentences = abstract_sentences(abstracts.get(row["evidence_doc_id"], ""))
        wanted = _integers(row["evidence_sentences"])
        rationale = [sentences[i] for i in wanted if i < len(sentences)]
        if not rationale:
            return None
        pid = f"{row['id']}-{row['evidence_doc_id']}-{'.'.join(map(str, wanted))}"
        return ClaimPair(pid, row["claim"], " ".join(rationale), label, label == "SUPPORT")
    cited = [str(d) for d in _integers(row["cited_doc_ids"])]
    sentences = abstract_sentences(abstracts.get(cited[0], "")) if cited else []
    if not sentences:
        return None
    passage = " ".join(sentences[:NEI_SENTENCES])
    return ClaimPair(f"{row['id']}-nei", row["claim"], passage, "NEI", False)


def _integers(cell: str) -> list[int]:
    """Integers of a printed list or array ("[2, 5]" or "[2 5]")."""
    return [int(n) for n in re.findall(r"-?\d+", cell or "")]


def _balanced(pairs: list[ClaimPair], limit: int | None) -> list[ClaimPair]:
    """Round-robin over labels, each label in stable spread order: any prefix has all three."""
    by_label = {
        label: spread([p for p in pairs if p.label == label], lambda p: p.id)
        for label in ("SUPPORT", "CONTRADICT", "NEI")
    }
    ordered: list[ClaimPair] = []
    for i in range(max(len(v) for v in by_label.values())):
        ordered.extend(v[i] for v in by_label.values() if i < len(v))
    return ordered[:limit] if limit is not None else ordered
