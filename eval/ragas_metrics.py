"""ragas metrics on each answered item.

Those that need no LLM run on every answers run: ID-based context precision and
recall (retrieved vs gold passage ids), non-LLM context recall (retrieved text vs
the supporting facts), string presence, string similarity and ROUGE against
the reference answer.

The LLM metrics (Faithfulness, answer relevancy, context precision with a
reference) run only when `eval.judge_base_url` names an OpenAI-compatible
server. With the packaged 1.5B model as that judge ragas Faithfulness scored
faithful and unfaithful answers alike (0.0), so the answers suite reports its
own validated judge in any case and ragas' beside it, never instead of it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.embedding import Embedder
from rag.errors import ConfigError
from rag.settings import EvalSettings

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")


@dataclass(frozen=True)
class Sample:
    question: str
    response: str
    reference: str
    retrieved_ids: Sequence[str]
    gold_ids: Sequence[str]
    retrieved_texts: Sequence[str]
    facts: Sequence[str]


def _check_installed() -> None:
    try:
        import ragas  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"ragas is not usable here ({exc})", "install the eval extra: pip install -e '.[eval]'"
        ) from None


def non_llm_scores(sample: Sample) -> dict[str, float]:
    _check_installed()
    from ragas.dataset_schema import SingleTurnSample

    # The ID-based and non-LLM context metrics are not in ragas.metrics.collections
    # in 0.4.3, and importing them from ragas.metrics warns: take them from their modules.
    from ragas.metrics._context_precision import IDBasedContextPrecision
    from ragas.metrics._context_recall import IDBasedContextRecall, NonLLMContextRecall
    from ragas.metrics.collections import NonLLMStringSimilarity, RougeScore, StringPresence

    row = SingleTurnSample(
        user_input=sample.question,
        response=sample.response,
        reference=sample.reference,
        retrieved_contexts=list(sample.retrieved_texts),
        reference_contexts=list(sample.facts),
        retrieved_context_ids=list(sample.retrieved_ids),
        reference_context_ids=list(sample.gold_ids),
    )
    scores = {
        f"ragas_{m.name}": float(m.single_turn_score(row))
        for m in (IDBasedContextPrecision(), IDBasedContextRecall(), NonLLMContextRecall())
    }
    for metric in (StringPresence(), NonLLMStringSimilarity(), RougeScore()):
        result = metric.score(reference=sample.reference, response=sample.response)
        scores[f"ragas_{metric.name}"] = float(result.value)
    return scores


class _Embeddings:
    """Our embedding model in the shape ragas' answer relevancy wants."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_text(self, text: str, **_: Any) -> list[float]:
        return [float(x) for x in self._embedder.embed([text])[0]]

    async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
        return self.embed_text(text, **kwargs)


class LLMScorer:
    """ragas' LLM metrics against an OpenAI-compatible judge server.

    Each `score` opens its own client and closes it before returning: a client
    left to the garbage collector leaks sockets of a finished event loop.
    """

    def __init__(self, settings: EvalSettings, embedder: Embedder) -> None:
        _check_installed()
        from ragas.embeddings import BaseRagasEmbedding

        assert settings.judge_base_url is not None
        self._settings = settings
        self._embeddings = type("RagEmbeddings", (_Embeddings, BaseRagasEmbedding), {})(embedder)

    def score(self, sample: Sample) -> dict[str, float | str]:
        return asyncio.run(self._score(sample))

    async def _score(self, sample: Sample) -> dict[str, float | str]:
        from openai import AsyncOpenAI
        from ragas.llms import llm_factory
        from ragas.metrics.collections import AnswerRelevancy, ContextPrecision, Faithfulness

        settings = self._settings
        async with AsyncOpenAI(
            base_url=settings.judge_base_url,
            api_key=settings.judge_api_key or "none",
            timeout=settings.judge_timeout_s,
            max_retries=0,
        ) as client:
            llm = llm_factory(settings.judge_model, client=client)
            contexts = list(sample.retrieved_texts)
            calls = {
                "ragas_faithfulness": Faithfulness(llm=llm).ascore(
                    user_input=sample.question,
                    response=sample.response,
                    retrieved_contexts=contexts,
                ),
                "ragas_answer_relevancy": AnswerRelevancy(
                    llm=llm, embeddings=self._embeddings, strictness=1
                ).ascore(user_input=sample.question, response=sample.response),
                "ragas_context_precision": ContextPrecision(llm=llm).ascore(
                    user_input=sample.question,
                    reference=sample.reference,
                    retrieved_contexts=contexts,
                ),
            }
            scores: dict[str, float | str] = {}
            for name, call in calls.items():  # one at a time: a local judge serves one request
                try:
                    scores[name] = float((await call).value)
                except Exception as exc:  # a judge failure is reported, not fatal
                    scores[name + "_error"] = f"{type(exc).__name__}: {exc}"[:300]
        return scores
