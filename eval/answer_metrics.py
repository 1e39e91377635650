"""Answer metrics as pure functions: correctness, citations, faithfulness, ROC AUC.

Correctness follows the official SQuAD v1.1 script: answers are lower-cased,
stripped of punctuation, articles and extra whitespace before comparing, and a
prediction scores its best value over the reference answers.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, references: Sequence[str]) -> float:
    """Best token-level F1 of `prediction` against any reference (SQuAD's F1)."""
    return max((_f1(prediction, reference) for reference in references), default=0.0)


def _f1(prediction: str, reference: str) -> float:
    predicted = normalize_answer(prediction).split()
    wanted = normalize_answer(reference).split()
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, references: Sequence[str]) -> float:
    target = normalize_answer(prediction)
    return float(any(target == normalize_answer(r) for r in references))


def contains_answer(prediction: str, references: Sequence[str]) -> float:
    """1.0 when a normalised reference occurs inside the normalised prediction as whole tokens."""
    padded = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(r)} " in padded for r in references if r.strip()))


def contains_text(passage: str, text: str, min_share: float = 0.8) -> bool:
    """Whether a passage holds `text`: verbatim (whitespace- and case-insensitive), or,
    where a chunk boundary cut it, at least `min_share` of its tokens."""
    haystack, needle = " ".join(passage.lower().split()), " ".join(text.lower().split())
    if not needle:
        return False
    if needle in haystack:
        return True
    tokens = normalize_answer(text).split()
    present = set(normalize_answer(passage).split())
    return bool(tokens) and sum(t in present for t in tokens) / len(tokens) >= min_share


def citation_precision(cited_correct: Sequence[bool]) -> float | None:
    """Share of cited passages that hold supporting text; None when nothing is cited."""
    return sum(cited_correct) / len(cited_correct) if cited_correct else None


def citation_recall(facts_covered: Sequence[bool]) -> float | None:
    """Share of supporting facts found in some cited passage; None without facts."""
    return sum(facts_covered) / len(facts_covered) if facts_covered else None


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the probability that a random positive outscores a
    random negative (ties count half). None when one class is missing."""
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    negatives = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
