"""OpenAI-compatible chat: `GET /v1/models` and `POST /v1/chat/completions`.

Any OpenAI client (the `openai` SDK, Open WebUI, LibreChat) can ask the
index. The last user message is the question and the turns before it its
history, condensed as `/v1/query` does. The reply's `message.content` is the
checked answer with its [n] markers and a list of sources, or the refusal;
the `rag` extension field carries the whole checked answer.

Streamed, the text is released one checked sentence at a time
(`rag.answer.release`): a chat window never shows a sentence less checked
than the final answer.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse, StreamingResponse

from rag.answer.answerer import Answer, Shown
from rag.answer.release import SentenceRelease, shown
from rag.errors import RagError
from rag.index.terms import TermAnalyzer
from rag.retrieval.filters import Filters
from rag.service.auth import Principal
from rag.service.deps import LibraryDep, Models, ModelsDep, UserDep
from rag.service.library import Collection, Library
from rag.service.openai_schemas import (
    ChatCompletion,
    ChatRequest,
    ModelCard,
    ModelList,
    OpenAIErrorBody,
)
from rag.service.routes.query import Served, answer_events
from rag.service.routes.search import check_limits
from rag.service.schemas import AnswerBody
from rag.settings import Settings

router = APIRouter(prefix="/v1", tags=["openai"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": OpenAIErrorBody, "description": text}
    for code, text in {
        400: "no user message, or a field that cannot be honoured",
        401: "missing or unknown API key",
        404: "no such model: GET /v1/models lists them",
        422: "a field is invalid",
        500: "an unexpected error; its id is in the server log",
        502: "the generator failed after it began",
        503: "no index generation is loaded",
    }.items()
}
IGNORED = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "stop")
IGNORED_HEADER = "X-Rag-Ignored-Fields"
STARTED = int(time.time())  # a model card's `created`: when this service started


@router.get("/models", responses=ERRORS)
def models(library: LibraryDep, principal: UserDep) -> ModelList:
    """A model per collection the key may read: `service.chat_model` ("rag") for
    the key's default collection, and each other collection by its name."""
    default = principal.default_collection
    others = [n for n in principal.readable(library.names()) if n != default]
    ids = [library.root.service.chat_model, *others]
    return ModelList(data=[ModelCard(id=name, created=STARTED) for name in ids])


def collection_of(model: str, library: Library, principal: Principal) -> Collection:
    """The collection a chat request's `model` names; 404 in OpenAI's words when
    there is none the key may read."""
    name = None if model == library.root.service.chat_model else model
    try:
        return library.for_reader(principal, name)
    except RagError:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "no such model: GET /v1/models lists the models this key may use",
        ) from None


@router.post("/chat/completions", response_model=ChatCompletion, responses=ERRORS)
def chat_completions(
    body: ChatRequest,
    library: LibraryDep,
    models: ModelsDep,
    principal: UserDep,
) -> JSONResponse | StreamingResponse:
    """Answer the last user message from the documents, as OpenAI's chat API does.

    Sampling fields (temperature, top_p, ...) are accepted and not honoured:
    answers are decoded greedily under the answer grammar; the reply names
    them in the `X-Rag-Ignored-Fields` header."""
    headers = _ignored(body)
    collection = collection_of(body.model, library, principal)
    if body.stream:
        events, settings = _answering(body, collection, models)
        chunks = Reply(body.model, settings).chunks(events)
        return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)
    return JSONResponse(complete(body, collection, models), headers=headers)


def complete(body: ChatRequest, collection: Collection, models: Models) -> dict[str, Any]:
    """The chat completion of `body`, whole (the route's, and each line of a batch)."""
    events, settings = _answering(body, collection, models)
    served = [e for e in events if isinstance(e, Served)][-1]
    return Reply(body.model, settings).completion(served)


def _answering(
    body: ChatRequest, collection: Collection, models: Models
) -> tuple[Iterator[str | Shown | Served], Settings]:
    """The answer's events for `body`, and the settings it is answered with."""
    settings, holder = collection.settings, collection.holder
    question, history = _turns(body)
    limit = body.max_completion_tokens or body.max_tokens
    settings = settings.with_changes(answer={"max_tokens": limit or settings.answer.max_tokens})
    check_limits(question, settings.answer.passages, settings)
    if history:
        from rag.answer.transforms import condense

        question = condense(question, history, models.llm.tasks)
    events = answer_events(models, settings, holder, question, settings.retrieval.mode, Filters())
    return events, settings


def _turns(body: ChatRequest) -> tuple[str, list[dict[str, str]]]:
    """The question (the last user message) and the user and assistant turns before it."""
    users = [i for i, m in enumerate(body.messages) if m.role == "user" and m.text().strip()]
    if not users:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "no user message with text: send the question as one"
        )
    last = users[-1]
    history = [
        {"role": m.role, "content": m.text()}
        for m in body.messages[:last]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return body.messages[last].text(), history


def _ignored(body: ChatRequest) -> dict[str, str]:
    sent = body.model_dump(exclude_unset=True)
    names = [n for n in IGNORED if n in sent] + sorted(body.model_extra or {})
    return {IGNORED_HEADER: ", ".join(names)} if names else {}


class Reply:
    """One answer in OpenAI's shapes: a completion, or a stream of chunks."""

    def __init__(self, model: str, settings: Settings) -> None:
        self.model = model
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self._settings = settings

    def completion(self, served: Served) -> dict[str, Any]:
        answer = served.answer
        text = content(answer, self._settings.answer.drop_unsupported)
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage(answer),
            "rag": _rag(served),
        }

    def chunks(self, events: Iterator[str | Shown | Served]) -> Iterator[str]:
        """`data:` lines: the role, checked sentences as they are released, the
        sources, then a last chunk with the finish reason, usage and the answer."""
        yield self._chunk({"role": "assistant", "content": ""})
        release: SentenceRelease | None = None
        try:
            for event in events:
                if isinstance(event, Shown):
                    release = self._release(event)
                elif isinstance(event, Served):
                    drop = self._settings.answer.drop_unsupported
                    rest = release.finish(event.answer) if release else _text(event.answer, drop)
                    if rest:
                        yield self._chunk({"content": rest})
                    sources = _sources(event.answer)
                    if sources:
                        yield self._chunk({"content": sources})
                    last = self._chunk({}, "stop", usage=usage(event.answer), rag=_rag(event))
                    yield last
                elif release is not None:
                    text = release.feed(event)
                    if text:
                        yield self._chunk({"content": text})
        except RagError as error:
            yield "data: " + json.dumps(_error(str(error), "generator_failed")) + "\n\n"
        yield "data: [DONE]\n\n"

    def _release(self, event: Shown) -> SentenceRelease:
        answer = self._settings.answer
        analyzer = TermAnalyzer(self._settings.tokenizer)
        return SentenceRelease(
            event.passages, analyzer, answer.support_threshold, answer.drop_unsupported
        )

    def _chunk(self, delta: dict[str, str], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"


def content(answer: Answer, drop_unsupported: bool) -> str:
    """What a chat window shows: the checked sentences (unsupported ones marked,
    or dropped with `answer.drop_unsupported`) and the sources, or the refusal."""
    return _text(answer, drop_unsupported) + _sources(answer)


def _text(answer: Answer, drop_unsupported: bool) -> str:
    if answer.refused:
        return answer.answer
    kept = [v for v in answer.verdicts if v.supported or not drop_unsupported]
    return " ".join(shown(v) for v in kept)


def _sources(answer: Answer) -> str:
    """A short list of the cited passages: title, file and pages."""
    if answer.refused or not answer.citations:
        return ""
    lines = []
    for citation in answer.citations:
        first, last = citation.passage.span_pages(citation.span_start, citation.span_end)
        pages = "" if first is None else f", p. {first}" + (f"-{last}" if last != first else "")
        if first is not None and citation.passage.ocr_pages(first, last):
            pages += ", read by OCR"
        lines.append(
            f"[{citation.marker}] {citation.passage.title} ({citation.passage.source_path}{pages})"
        )
    return "\n\nSources:\n" + "\n".join(lines)


def usage(answer: Answer) -> dict[str, int] | None:
    """Tokens the model read and wrote for this answer (none for an extractive
    one); None where a remote server did not say."""
    if answer.usage is None:
        return None
    prompt, completion = answer.usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _rag(served: Served) -> dict[str, Any]:
    return AnswerBody.served(served.answer, served.generation).model_dump(mode="json")


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error", "code": code, "param": None}}
