"""The model's own chat template, for the prompts this code tokenizes itself.

`llm.model_path` may name any GGUF, so prompts are written in the format its
`tokenizer.chat_template` defines, rendered as llama-cpp-python's chat
completion renders it: the judge's prompt, the prompt size a stream reports
and the system prefix whose KV cache is kept all match what
`create_chat_completion` sends. A GGUF without a template gets ChatML.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.llm.base import Message

TEMPLATE_KEY = "tokenizer.chat_template"


def chatml(messages: Sequence[Message], reply: bool = True) -> str:
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + ("<|im_start|>assistant\n" if reply else "")


class ChatTemplate:
    def __init__(self, llm: Any) -> None:
        self._template: str | None = llm.metadata.get(TEMPLATE_KEY)
        self._eos = _token_text(llm, llm.token_eos())
        self._bos = _token_text(llm, llm.token_bos())

    def prompt(self, messages: Sequence[Message]) -> str:
        """The text the model reads before its reply to `messages`."""
        return self._render(messages, reply=True)

    def turns(self, messages: Sequence[Message]) -> str:
        """`messages` alone, without the opening of a reply: a prompt's prefix."""
        return self._render(messages, reply=False)

    def _render(self, messages: Sequence[Message], reply: bool) -> str:
        if self._template is None:
            return chatml(messages, reply)
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        formatter: Any = Jinja2ChatFormatter(self._template, self._eos, self._bos, reply)
        return str(formatter(messages=list(messages)).prompt)


def _token_text(llm: Any, token: int) -> str:
    return str(llm._model.token_get_text(token)) if token != -1 else ""
