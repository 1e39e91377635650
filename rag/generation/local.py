"""The local LLM on llama.cpp (llama-cpp-python), loaded from a verified file.

One llama.cpp context serves one call at a time, so calls are serialised.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from typing import Any

from rag.errors import ConfigError
from rag.generation.model_file import packaged_model_path
from rag.settings import LLMSettings

Message = dict[str, str]


class LocalLLM:
    def __init__(self, settings: LLMSettings) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ConfigError(
                "llama-cpp-python is not installed", "install the project as the README says"
            ) from None
        path = settings.model_path or packaged_model_path()
        if not path.is_file():
            raise ConfigError(f"no model file at {path}", "set llm.model_path to a GGUF file")
        threads = settings.threads or os.cpu_count() or 1
        self._llm: Any = Llama(
            model_path=str(path),
            n_ctx=settings.context,
            n_threads=threads,
            n_threads_batch=threads,
            seed=settings.seed,
            verbose=False,
        )
        self._lock = threading.Lock()
        self._max_tokens = settings.max_tokens
        self.name = path.name

    def chat(self, messages: Sequence[Message], max_tokens: int | None = None) -> str:
        with self._lock:
            result = self._llm.create_chat_completion(
                messages=list(messages), max_tokens=max_tokens or self._max_tokens, temperature=0.0
            )
        return str(result["choices"][0]["message"]["content"] or "")

    def yes_probability(self, messages: Sequence[Message]) -> float:
        """P(first answer token is "yes") among yes and no, from the next-token logits."""
        with self._lock:
            result = self._llm.create_chat_completion(
                messages=list(messages),
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=20,
            )
        content = result["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        yes = no = 0.0
        for entry in content:
            word = entry["token"].strip().lower()
            if word in ("yes", "no"):
                p = math.exp(entry["logprob"])
                yes, no = (yes + p, no) if word == "yes" else (yes, no + p)
        return yes / (yes + no) if yes + no > 0 else 0.5
