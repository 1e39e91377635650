"""The local LLM on llama.cpp (llama-cpp-python), loaded from a verified file.

One llama.cpp context serves one call at a time, so calls are serialised.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.errors import ConfigError
from rag.llm.base import Message
from rag.llm.model_file import packaged_model_path
from rag.llm.template import ChatTemplate
from rag.settings import LLMSettings


@dataclass
class Speed:
    """Of one streamed reply: prompt tokens read (past the reused prefix), the
    seconds to the first generated token, tokens generated and seconds in all."""

    prompt_tokens: int
    prompt_total: int = 0  # the whole prompt, reused prefix included
    first_token_s: float | None = None
    generated: int = 0
    total_s: float = 0.0

    def tick(self, started: float) -> None:
        """One more piece (a token, or the few of one character) arrived."""
        self.total_s = time.perf_counter() - started
        self.generated += 1
        if self.first_token_s is None:
            self.first_token_s = self.total_s

    def prompt_per_s(self) -> float | None:
        first = self.first_token_s
        return round(self.prompt_tokens / first, 1) if first else None

    def generated_per_s(self) -> float | None:
        spent = self.total_s - (self.first_token_s or 0.0)
        return round((self.generated - 1) / spent, 1) if self.generated > 1 and spent else None


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
            flash_attn=settings.flash_attn,
            draft_model=_prompt_lookup(settings.prompt_lookup),
            verbose=False,
        )
        self._lock = threading.Lock()
        self._max_tokens = settings.max_tokens
        self._prefix_cache = settings.prefix_cache
        self._prefixes: dict[tuple[int, ...], Any] = {}
        self._grammars: dict[str, Any] = {}
        self.last_speed: Speed | None = None
        self.name = path.name
        self.template = ChatTemplate(self._llm)

    def close(self) -> None:
        self._llm.close()

    def chat(self, messages: Sequence[Message], max_tokens: int | None = None) -> str:
        with self._lock:
            self._restore_system_prefix(messages)
            result = self._llm.create_chat_completion(
                messages=list(messages), max_tokens=max_tokens or self._max_tokens, temperature=0.0
            )
        return str(result["choices"][0]["message"]["content"] or "")

    def chat_stream(
        self, messages: Sequence[Message], max_tokens: int | None = None, grammar: str | None = None
    ) -> Iterator[str]:
        """The reply piece by piece as it is generated (the model is held meanwhile),
        constrained to `grammar` (GBNF) when one is given."""
        with self._lock:
            self._restore_system_prefix(messages)
            prompt = self._llm.tokenize(
                self.template.prompt(messages).encode("utf-8"), special=True
            )
            speed = Speed(len(prompt) - self._held_prefix(prompt), prompt_total=len(prompt))
            self.last_speed = speed
            started = time.perf_counter()
            chunks = self._llm.create_chat_completion(
                messages=list(messages),
                max_tokens=max_tokens or self._max_tokens,
                temperature=0.0,
                stream=True,
                grammar=self._grammar(grammar),
            )
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    speed.tick(started)
                    yield str(piece)

    def raw_speed(self, prompt_tokens: int, generate: int) -> tuple[float, float]:
        """Seconds llama.cpp takes to read `prompt_tokens` tokens from an empty
        context, and to generate `generate` more greedily (benchmarks' baseline)."""
        with self._lock:
            text = "The quick brown fox jumps over the lazy dog. " * prompt_tokens
            tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=False)[:prompt_tokens]
            self._llm.reset()
            started = time.perf_counter()
            self._llm.eval(tokens)
            read = time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(generate - 1):
                self._llm.eval([self._llm.sample(temp=0.0)])
            return read, time.perf_counter() - started

    def _held_prefix(self, tokens: Sequence[int]) -> int:
        """How many leading `tokens` the context already holds (llama.cpp reuses them)."""
        held = self._llm.input_ids[: self._llm.n_tokens].tolist()
        shared = 0
        for a, b in zip(held, tokens[:-1], strict=False):
            if a != b:
                break
            shared += 1
        return shared

    def _grammar(self, text: str | None) -> Any:
        if text is None:
            return None
        if text not in self._grammars:
            from llama_cpp.llama_grammar import LlamaGrammar

            self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
        return self._grammars[text]

    def yes_probability(self, messages: Sequence[Message]) -> float:
        """P(the answer's first token is yes), among yes and no, from the next-token logits.

        llama-cpp-python reports logprobs only when it keeps logits for every
        prompt token (gigabytes for a long prompt), so the prompt is evaluated
        directly and only the last position's logits are read.
        """
        prompt = self.template.prompt(messages)
        with self._lock:
            tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            self._eval_after_shared_prefix(tokens)
            last = np.ctypeslib.as_array(self._llm._ctx.get_logits(), shape=(self._llm.n_vocab(),))
            logits = np.array(last, dtype=np.float64)
        yes = _first_tokens(self._llm, ("yes", "Yes", " yes", " Yes", "YES"))
        no = _first_tokens(self._llm, ("no", "No", " no", " No", "NO"))
        top = logits.max()
        p_yes = np.exp(logits[yes] - top).sum()
        p_no = np.exp(logits[no] - top).sum()
        return float(p_yes / (p_yes + p_no))

    def _restore_system_prefix(self, messages: Sequence[Message]) -> None:
        """Put the system prompt's KV cache back if another prompt replaced it.

        llama.cpp reuses the prefix a prompt shares with the previous one, but
        a judge call between two answers replaces it; the system prompt's state
        is saved once per distinct system prompt (a few MB) and loaded back
        instead of evaluating it again (`rag bench answer` measures the gain).
        """
        if not self._prefix_cache or not messages or messages[0]["role"] != "system":
            return
        text = self.template.turns(messages[:1])
        tokens = tuple(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))
        held = tuple(self._llm.input_ids[: min(self._llm.n_tokens, len(tokens))].tolist())
        if held == tokens:
            return
        state = self._prefixes.get(tokens)
        if state is not None:
            self._llm.load_state(state)
            return
        self._eval_after_shared_prefix(list(tokens))
        if len(self._prefixes) < 4:
            self._prefixes[tokens] = self._llm.save_state()

    def _eval_after_shared_prefix(self, tokens: list[int]) -> None:
        """Evaluate `tokens`, reusing the KV cache of the prefix they share with the
        previous evaluation (the fixed system prompt, at least): prompt processing
        is the cost of a judge call. The last token is always evaluated again so
        its logits are fresh."""
        shared = self._held_prefix(tokens)
        self._llm.n_tokens = shared
        self._llm.eval(tokens[shared:])


def _prompt_lookup(tokens: int) -> Any:
    """Prompt-lookup decoding: draft the next tokens by matching the last ones
    in the prompt, which suits answers that copy their passages."""
    if not tokens:
        return None
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    return LlamaPromptLookupDecoding(num_pred_tokens=tokens)


def _first_tokens(llm: Any, words: Sequence[str]) -> list[int]:
    return sorted({llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)[0] for w in words})
