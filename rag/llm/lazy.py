"""The one LLM of a process, loaded on first use.

The service, `rag ask` and the eval suites each make one `LazyLLM` and hand it
to everything that needs a model (the generator, the support judge, the LLM
reranker, condensing and query transforms), so the 1.1 GB model is loaded at
most once, and never when nothing asks for it: an extractive answer whose
sentences are quotations does not.
"""

from __future__ import annotations

from functools import cached_property

from rag.llm.local import LocalLLM
from rag.llm.openai_chat import OpenAIChatModel
from rag.settings import Settings


class LazyLLM:
    """`model` is the local model; `tasks` is the model for the judge,
    condensing and query transforms: the local one, or with `llm.backend =
    "openai"` the OpenAI-compatible server, and then the local model is never
    loaded unless it also answers."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def settings(self) -> Settings:
        return self._settings

    @cached_property
    def model(self) -> LocalLLM:
        return LocalLLM(self._settings.llm)

    @cached_property
    def tasks(self) -> LocalLLM | OpenAIChatModel:
        if self._settings.llm.backend == "openai":
            return OpenAIChatModel(self._settings.openai)
        return self.model

    def close(self) -> None:
        if "model" in self.__dict__:
            self.model.close()
