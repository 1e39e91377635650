"""What the rest of the code asks of a language model: chat messages in, and
for the yes/no tasks (the support judge, the LLM reranker) P(yes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

Message = dict[str, str]


class YesNoModel(Protocol):
    def yes_probability(self, messages: Sequence[Message]) -> float:
        """Probability that the reply to `messages` is "yes"."""
        ...
