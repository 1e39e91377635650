"""P(yes) from an OpenAI-compatible reply's log-probabilities, worked by hand."""

from __future__ import annotations

import math

from rag.llm.openai_chat import yes_share


def reply(top: list[tuple[str, float]], content: str = "") -> dict[str, object]:
    entries = [{"token": t, "logprob": math.log(p)} for t, p in top]
    return {"message": {"content": content}, "logprobs": {"content": [{"top_logprobs": entries}]}}


def test_yes_share_sums_the_spellings_of_each_word() -> None:
    share = yes_share(reply([("Yes", 0.6), (" yes", 0.1), ("No", 0.2), ("Maybe", 0.1)]))
    assert math.isclose(share, 0.7 / 0.9)


def test_without_log_probabilities_the_word_decides() -> None:
    assert yes_share({"message": {"content": "Yes."}}) == 1.0
    assert yes_share({"message": {"content": "No, it is not."}}) == 0.0
    assert yes_share(reply([("Perhaps", 0.9)], content="no")) == 0.0
