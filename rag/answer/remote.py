"""Generation on an OpenAI-compatible chat server, and falling back when it fails."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from rag.answer.deadline import within
from rag.answer.generators import Generator
from rag.answer.prompt import answer_messages
from rag.errors import GeneratorFailedError
from rag.retrieval.passages import Passage
from rag.settings import OpenAISettings

log = logging.getLogger("rag.answer")


class OpenAIGenerator:
    """Streams from `POST {base_url}/chat/completions`. Every failure raises
    `GeneratorFailedError` saying what happened: no connection, no reply within
    `timeout_s`, a reply still unfinished after `deadline_s`, an error status,
    a chunk that is not the API's JSON, or a stream cut off before its end.

    It asks for the server's token counts (`stream_options.include_usage`); a
    server that does not send them leaves `usage` None."""

    name = "openai"

    def __init__(self, settings: OpenAISettings, max_tokens: int) -> None:
        self._settings = settings
        self._max_tokens = max_tokens
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        self.usage: tuple[int, int] | None = None

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        deadline = self._settings.deadline_s
        return within(
            self._pieces(question, passages),
            deadline,
            lambda: GeneratorFailedError(f"{self._url} did not finish within {deadline} s"),
        )

    def _pieces(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        body = {
            "model": self._settings.model,
            "messages": answer_messages(question, passages),
            "max_tokens": self._max_tokens,
            "temperature": 0.0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        self.usage = None
        key = self._settings.api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        timeout = self._settings.timeout_s
        try:
            with httpx.stream(
                "POST", self._url, json=body, headers=headers, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise GeneratorFailedError(f"{self._url} answered {response.status_code}")
                reply = _Reply(self._url)
                yield from reply.deltas(response.iter_lines())
                self.usage = reply.usage
        except httpx.TimeoutException:
            raise GeneratorFailedError(f"{self._url} timed out after {timeout} s") from None
        except httpx.HTTPError as exc:
            raise GeneratorFailedError(f"{self._url}: {type(exc).__name__}: {exc}") from None


class _Reply:
    """One chat-completion event stream: its content pieces, then its usage."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.usage: tuple[int, int] | None = None
        self._usage_promised = False  # chunks carry `"usage": null` until the last

    def deltas(self, lines: Iterator[str]) -> Iterator[str]:
        """Content pieces up to `[DONE]` or a chunk with a `finish_reason`; past
        that, only a promised usage chunk is awaited. A stream that stops before
        either was cut off."""
        for line in lines:
            if not line.startswith("data:"):
                continue
            payload = line.removeprefix("data:").strip()
            if payload == "[DONE]":
                return
            piece, finished = self._read(payload)
            if piece:
                yield piece
            if finished:
                self._await_usage(lines)
                return
        raise GeneratorFailedError(f"{self._url}: the reply ended before the answer was complete")

    def _read(self, payload: str) -> tuple[str | None, bool]:
        try:
            event = json.loads(payload)
            self._note_usage(event)
            choice = event["choices"][0]
            piece, finished = choice["delta"].get("content"), choice.get("finish_reason")
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
            raise GeneratorFailedError(
                f"{self._url} sent a malformed chunk: {payload[:200]}"
            ) from None
        return (str(piece) if piece else None), bool(finished)

    def _note_usage(self, event: dict[str, Any]) -> None:
        if "usage" not in event:
            return
        self._usage_promised = True
        counts = event["usage"]
        if isinstance(counts, dict):
            self.usage = (
                int(counts.get("prompt_tokens", 0)),
                int(counts.get("completion_tokens", 0)),
            )

    def _await_usage(self, lines: Iterator[str]) -> None:
        """The answer is complete; a fault from here on only loses the counts."""
        if self.usage is not None or not self._usage_promised:
            return
        try:
            for line in lines:
                payload = line.removeprefix("data:").strip()
                if payload == "[DONE]":
                    return
                if line.startswith("data:"):
                    self._note_usage(json.loads(payload))
                    if self.usage is not None:
                        return
        except (httpx.HTTPError, ValueError, TypeError, AttributeError) as exc:
            log.warning("%s: no token counts after the answer (%s)", self._url, exc)


class FallbackGenerator:
    """The primary backend; if it fails before its first token, the fallback,
    with the reason kept in `fallback_reason`. A failure after the first token
    (its text may already be on its way to the reader) raises
    `GeneratorFailedError` saying so."""

    def __init__(self, primary: Generator, fallback: Generator) -> None:
        self._primary = primary
        self._fallback = fallback
        self.name = primary.name
        self.fallback_reason: str | None = None
        self._used = primary

    @property
    def usage(self) -> tuple[int, int] | None:
        return self._used.usage

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        started = False
        try:
            for piece in self._primary.stream(question, passages):
                started = True
                yield piece
            return
        except GeneratorFailedError as error:
            if started:
                raise GeneratorFailedError(
                    f"{self._primary.name} failed mid-answer: {error}",
                    "ask again, or choose another generator",
                ) from None
            self.fallback_reason = (
                f"{self._primary.name} failed ({error}); answered by {self._fallback.name}"
            )
            log.warning("generator fallback: %s", self.fallback_reason)
        self.name = self._fallback.name
        self._used = self._fallback
        yield from self._fallback.stream(question, passages)
