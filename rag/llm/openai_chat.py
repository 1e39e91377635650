"""An OpenAI-compatible chat server as the model for the tasks besides answering:
the support judge, condensing a conversation, query transforms (`llm.backend =
"openai"`), so a user with a strong server gets a strong judge and the local
model is never loaded.

The judge's P(yes) comes from the first token's `top_logprobs` (vLLM, llama.cpp's
server and the OpenAI API all return them); a server that sends none is scored
by the word it replied with, 1.0 or 0.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import httpx

from rag.errors import GeneratorFailedError
from rag.llm.base import Message
from rag.settings import OpenAISettings

YES = ("yes", "Yes", "YES")
NO = ("no", "No", "NO")


class OpenAIChatModel:
    def __init__(self, settings: OpenAISettings) -> None:
        self._settings = settings
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        self.name = f"openai:{settings.model}"

    def chat(self, messages: Sequence[Message], max_tokens: int | None = None) -> str:
        reply = self._complete(messages, {"max_tokens": max_tokens or 256})
        return str(reply["message"].get("content") or "")

    def yes_probability(self, messages: Sequence[Message]) -> float:
        reply = self._complete(messages, {"max_tokens": 1, "logprobs": True, "top_logprobs": 10})
        return yes_share(reply)

    def close(self) -> None:
        """Nothing is held between requests."""

    def _complete(self, messages: Sequence[Message], extra: dict[str, Any]) -> dict[str, Any]:
        body = {"model": self._settings.model, "messages": list(messages), "temperature": 0.0}
        key = self._settings.api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        timeout = self._settings.timeout_s
        try:
            response = httpx.post(self._url, json=body | extra, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            raise GeneratorFailedError(f"{self._url} timed out after {timeout} s") from None
        except httpx.HTTPError as exc:
            raise GeneratorFailedError(f"{self._url}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise GeneratorFailedError(f"{self._url} answered {response.status_code}")
        try:
            return dict(response.json()["choices"][0])
        except (ValueError, KeyError, IndexError, TypeError):
            raise GeneratorFailedError(f"{self._url} sent a malformed reply") from None


def yes_share(choice: dict[str, Any]) -> float:
    """P(yes) among yes and no in the first token's top log-probabilities."""
    tokens = ((choice.get("logprobs") or {}).get("content") or [{}])[0].get("top_logprobs") or []
    weights = {"yes": 0.0, "no": 0.0}
    for entry in tokens:
        word = str(entry.get("token", "")).strip()
        side = "yes" if word in YES else "no" if word in NO else None
        if side:
            weights[side] += math.exp(float(entry.get("logprob", -math.inf)))
    if weights["yes"] + weights["no"] > 0:
        return weights["yes"] / (weights["yes"] + weights["no"])
    said = str(choice.get("message", {}).get("content") or "").strip().lower()
    return 1.0 if said.startswith("yes") else 0.0
