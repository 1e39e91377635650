"""The dataset readers on the real files in ../shared/datasets."""

from collections import Counter

from eval.answer_metrics import contains_text
from eval.claims import abstract_sentences, load_claim_pairs
from eval.qa_data import load_qa_dataset
from eval.sampling import spread
from tests.conftest import DATASETS, need


def test_squad_corpus_questions_and_facts() -> None:
    data = load_qa_dataset(need(DATASETS / "squad-v1.1-dev"))
    assert data.name == "squad"
    assert (len(data.corpus), len(data.items)) == (2067, 10570)
    passages = {p.id: p.text for p in data.corpus}
    shorter = 0
    for item in data.items:
        [gold] = item.gold_ids
        [fact] = item.facts
        # The fact is the sentence (or sentences) holding the first reference answer.
        assert item.answers[0] in fact and fact in passages[gold]
        shorter += len(fact) < len(passages[gold])
    assert shorter / len(data.items) > 0.95  # a sentence, not the whole paragraph


def test_hotpot_facts_sit_in_their_gold_paragraphs() -> None:
    data = load_qa_dataset(need(DATASETS / "hotpotqa-dev-100"))
    assert data.name == "hotpotqa" and len(data.items) == 100
    passages = {p.id: p.text for p in data.corpus}
    multi_hop = 0
    for item in data.items:
        assert item.facts and item.gold_ids
        for fact in item.facts:
            assert any(contains_text(passages[g], fact) for g in item.gold_ids)
        multi_hop += len(item.gold_ids) >= 2
    assert multi_hop >= 95


def test_claim_pairs_cover_the_three_labels_in_any_prefix() -> None:
    folder = need(DATASETS / "scifact-claims")
    pairs = load_claim_pairs(folder, "validation")
    counts = Counter(p.label for p in pairs)
    assert counts["SUPPORT"] > 150 and counts["CONTRADICT"] > 80 and counts["NEI"] > 80
    assert len({p.id for p in pairs}) == len(pairs)
    assert {p.label for p in load_claim_pairs(folder, "validation", 3)} == {
        "SUPPORT",
        "CONTRADICT",
        "NEI",
    }
    assert all(p.passage.strip() and p.claim.strip() for p in pairs)
    assert all(p.supported == (p.label == "SUPPORT") for p in pairs)


def test_abstract_cells_split_into_sentences() -> None:
    cell = '[\'First one, with "quotes".\'\n "Second isn\'t short."]'
    assert abstract_sentences(cell) == ['First one, with "quotes".', "Second isn't short."]


def test_spread_is_stable_and_prefix_closed() -> None:
    ids = [f"q{n}" for n in range(500)]
    first = spread(ids, str, 20)
    assert first == spread(list(reversed(ids)), str, 20)
    assert first == spread(ids, str, 50)[:20]
    assert first != ids[:20]
