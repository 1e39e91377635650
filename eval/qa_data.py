"""Question-answering datasets as one shape: a corpus of passages, and questions
with reference answers, gold passages and the supporting facts inside them.

- SQuAD v1.1 (`dev-v1.1.json`): the corpus is every paragraph; a question's gold
  passage is its paragraph and its supporting fact the sentence holding the answer.
- HotpotQA distractor (`hotpot_dev_distractor_v1.json`): the corpus is every
  context paragraph (one per title); the supporting facts are the labelled
  sentences, usually in two paragraphs (multi-hop).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ConfigError


@dataclass(frozen=True)
class CorpusRecord:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...]
    gold_ids: tuple[str, ...]  # corpus ids of the passages that hold the answer
    facts: tuple[str, ...]  # supporting sentences, verbatim from the gold passages


@dataclass(frozen=True)
class QADataset:
    name: str  # "squad" or "hotpotqa"
    files: tuple[Path, ...]
    corpus: tuple[CorpusRecord, ...]
    items: tuple[QAItem, ...]


def load_qa_dataset(path: Path) -> QADataset:
    """A SQuAD or HotpotQA file, or a folder holding exactly one of them."""
    file = _find_file(path)
    data = json.loads(file.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "data" in data:
        return _squad(file, data["data"])
    if isinstance(data, list) and data and "supporting_facts" in data[0]:
        return _hotpot(file, data)
    raise ConfigError(
        f"{file} is neither SQuAD v1.1 nor HotpotQA JSON",
        "pass dev-v1.1.json or hotpot_dev_distractor_v1.json (or their folder)",
    )


def _find_file(path: Path) -> Path:
    if path.is_file():
        return path
    found = sorted(path.glob("*.json")) if path.is_dir() else []
    if len(found) != 1:
        raise ConfigError(
            f"{path}: expected a SQuAD or HotpotQA JSON file, or a folder with one",
            f"found {len(found)} JSON files" if path.is_dir() else "no such file or folder",
        )
    return found[0]


# A sentence ends at . ! or ? before a capital, digit or quote, except after an
# initial ("C. J. Anderson", "U.S.") or a common title.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<!\b[A-Z]\.)(?<!\bMr\.)(?<!\bMrs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bvs\.)"
    r"\s+(?=[A-Z0-9\"'(])"
)


def _sentences_covering(text: str, begin: int, end: int) -> str:
    """The sentence (or run of sentences) of `text` that holds characters begin..end."""
    first, last = 0, len(text)
    for match in _SENTENCE_END.finditer(text):
        if match.start() < begin + 1:
            first = match.end()
        elif match.start() >= end:
            last = match.start()
            break
    return text[first:last].strip()


def _squad(file: Path, articles: list[dict[str, Any]]) -> QADataset:
    corpus, items = [], []
    for a, article in enumerate(articles):
        title = str(article["title"]).replace("_", " ")
        for p, paragraph in enumerate(article["paragraphs"]):
            pid = f"squad-{a}-{p}"
            context = str(paragraph["context"])
            corpus.append(CorpusRecord(pid, title, context))
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(str(x["text"]) for x in qa["answers"]))
                first = qa["answers"][0]
                begin = int(first["answer_start"])
                fact = _sentences_covering(context, begin, begin + len(str(first["text"])))
                items.append(QAItem(str(qa["id"]), str(qa["question"]), answers, (pid,), (fact,)))
    return QADataset("squad", (file,), tuple(corpus), tuple(items))


def _columns(value: object) -> dict[str, list[object]]:
    """HotpotQA columns arrive as dicts, or as their Python repr in some exports."""
    if isinstance(value, str):
        import ast

        value = ast.literal_eval(value)
    assert isinstance(value, dict)
    return value


def _hotpot(file: Path, records: list[dict[str, object]]) -> QADataset:
    corpus: dict[str, CorpusRecord] = {}
    items = []
    for n, record in enumerate(records):
        context = _columns(record["context"])
        sentences = {}
        for title, sents in zip(context["title"], context["sentences"], strict=True):
            sentences[str(title)] = [str(s) for s in sents]  # type: ignore[attr-defined]
            pid = "hotpot-" + str(title)
            corpus.setdefault(pid, CorpusRecord(pid, str(title), "".join(sentences[str(title)])))
        support = _columns(record["supporting_facts"])
        facts, gold = [], []
        for title, sent_id in zip(support["title"], support["sent_id"], strict=True):
            sents = sentences.get(str(title), [])
            if int(str(sent_id)) < len(sents):
                facts.append(sents[int(str(sent_id))].strip())
                gold.append("hotpot-" + str(title))
        rid = str(record.get("_id") or record.get("id") or f"hotpot-q{n}")
        items.append(
            QAItem(
                rid,
                str(record["question"]),
                (str(record["answer"]),),
                tuple(dict.fromkeys(gold)),
                tuple(facts),
            )
        )
    return QADataset("hotpotqa", (file,), tuple(corpus.values()), tuple(items))


def write_beir_corpus(records: tuple[CorpusRecord, ...], path: Path) -> None:
    """The corpus as BEIR `corpus.jsonl`, the form `rag ingest` reads for benchmarks."""
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            row = {"_id": record.id, "title": record.title, "text": record.text}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
