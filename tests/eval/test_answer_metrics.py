import pytest

from eval import answer_metrics as am
from eval.stats import paired_test


def test_token_f1_and_exact_match_follow_the_squad_script() -> None:
    # "the" and punctuation go: {denver, broncos, won} against {denver, broncos}
    assert am.token_f1("The Denver Broncos won.", ["Denver Broncos"]) == pytest.approx(0.8)
    assert am.token_f1("Carolina", ["Denver Broncos", "Carolina Panthers"]) == pytest.approx(2 / 3)
    assert am.token_f1("", ["Denver"]) == 0.0
    assert am.exact_match("the Denver Broncos!", ["Denver Broncos"]) == 1.0
    assert am.exact_match("Broncos", ["Denver Broncos"]) == 0.0


def test_contains_matches_whole_tokens_only() -> None:
    answer = "Super Bowl 50 was won by the Denver Broncos [1]."
    assert am.contains_answer(answer, ["Denver Broncos"]) == 1.0
    assert am.contains_answer(answer, ["50"]) == 1.0
    assert am.contains_answer(answer, ["5"]) == 0.0
    assert am.contains_answer("", ["Denver"]) == 0.0


def test_contains_text_tolerates_case_spacing_and_a_cut_sentence() -> None:
    passage = "Intro.  The Moon   pulls the OCEAN, raising tides. Then more."
    assert am.contains_text(passage, "the moon pulls the ocean, raising tides.")
    assert not am.contains_text(passage, "The Sun pulls the ocean hard, lowering every tide.")
    # A chunk boundary cut the sentence: 5 of its 6 tokens ("the" aside) are present.
    assert am.contains_text(
        "the moon pulls the ocean toward it", "The Moon pulls the ocean toward it daily"
    )
    assert not am.contains_text("the moon pulls", "The Moon pulls the ocean toward it daily")
    assert not am.contains_text(passage, "")


def test_citation_precision_recall_and_mean() -> None:
    assert am.citation_precision([True, False, True, True]) == 0.75
    assert am.citation_precision([]) is None
    assert am.citation_recall([True, False]) == 0.5
    assert am.mean([1.0, None, 0.0]) == 0.5
    assert am.mean([None]) is None


def test_roc_auc_by_hand() -> None:
    # positives 0.9, 0.4; negatives 0.5, 0.4, 0.1: wins 3 + (0 + 0.5 + 1) = 4.5 of 6
    scores = [0.9, 0.4, 0.5, 0.4, 0.1]
    labels = [True, True, False, False, False]
    assert am.roc_auc(scores, labels) == pytest.approx(4.5 / 6)
    assert am.roc_auc([0.1, 0.2], [True, True]) is None


def test_paired_test_separates_a_real_difference_from_noise() -> None:
    a = [0.5] * 40
    same = paired_test(a, a)
    assert same.p_value == 1.0 and same.verdict() == "no significant difference"
    better = paired_test(a, [0.6 + 0.01 * (i % 3) for i in range(40)])
    assert better.difference == pytest.approx(0.1 + 0.01 * 39 / 40)
    assert better.p_value < 0.01 and better.low > 0 and better.verdict() == "B better"
    noisy = paired_test(a, [0.5 + (0.1 if i % 2 else -0.1) for i in range(40)])
    assert noisy.p_value > 0.5 and noisy.low < 0 < noisy.high
    worse = paired_test(a, [0.4] * 40)
    assert worse.verdict() == "B worse"
    with pytest.raises(ValueError, match="same length"):
        paired_test([1.0], [1.0, 2.0])
