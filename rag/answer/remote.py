"""Generation on an OpenAI-compatible chat server, and falling back when it fails."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence

import httpx

from rag.answer.generators import Generator, GeneratorFailedError
from rag.answer.prompt import answer_messages
from rag.retrieval.passages import Passage
from rag.settings import OpenAISettings

log = logging.getLogger("rag.answer")


class OpenAIGenerator:
    name = "openai"

    def __init__(self, settings: OpenAISettings, max_tokens: int) -> None:
        self._settings = settings
        self._max_tokens = max_tokens

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        body = {
            "model": self._settings.model,
            "messages": answer_messages(question, passages),
            "max_tokens": self._max_tokens,
            "temperature": 0.0,
            "stream": True,
        }
        headers = (
            {"Authorization": f"Bearer {self._settings.api_key}"}
            if (self._settings.api_key)
            else {}
        )
        url = self._settings.base_url.rstrip("/") + "/chat/completions"
        try:
            with httpx.stream(
                "POST", url, json=body, headers=headers, timeout=self._settings.timeout_s
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise GeneratorFailedError(f"{url} answered {response.status_code}")
                yield from _deltas(response.iter_lines())
        except httpx.TimeoutException:
            raise GeneratorFailedError(
                f"{url} timed out after {self._settings.timeout_s} s"
            ) from None
        except httpx.HTTPError as exc:
            raise GeneratorFailedError(f"{url}: {type(exc).__name__}: {exc}") from None


def _deltas(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line.removeprefix("data:").strip()
        if payload == "[DONE]":
            return
        try:
            piece = json.loads(payload)["choices"][0]["delta"].get("content")
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
            raise GeneratorFailedError(f"malformed stream chunk: {payload[:200]}") from None
        if piece:
            yield str(piece)


class FallbackGenerator:
    """The primary backend; if it fails before its first token, the fallback,
    with the reason kept in `fallback_reason`."""

    def __init__(self, primary: Generator, fallback: Generator) -> None:
        self._primary = primary
        self._fallback = fallback
        self.name = primary.name
        self.fallback_reason: str | None = None

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        started = False
        try:
            for piece in self._primary.stream(question, passages):
                started = True
                yield piece
            return
        except GeneratorFailedError as error:
            if started:
                raise
            self.fallback_reason = (
                f"{self._primary.name} failed ({error}); answered by {self._fallback.name}"
            )
            log.warning("generator fallback: %s", self.fallback_reason)
        self.name = self._fallback.name
        yield from self._fallback.stream(question, passages)
