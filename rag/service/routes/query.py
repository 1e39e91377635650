"""POST /v1/query: a grounded, cited answer; streamed as server-sent events on request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from rag.answer.answerer import Answer, Shown
from rag.answer.build import make_answerer
from rag.answer.transforms import condense
from rag.errors import RagError
from rag.modes import FusionMode
from rag.retrieval.filters import Filters
from rag.service.deps import LibraryDep, Models, ModelsDep, UserDep
from rag.service.holder import IndexHolder
from rag.service.routes.search import check_limits
from rag.service.schemas import (
    BAD_BODY,
    KEY_REFUSED,
    NO_INDEX,
    NOT_FOUND,
    UNEXPECTED,
    AnswerBody,
    ErrorBody,
    QueryRequest,
    Responses,
)
from rag.settings import Settings

router = APIRouter(prefix="/v1", tags=["answers"], responses=UNEXPECTED)
# One server-sent event: its name (`token`, `answer` or `error`) and its JSON text.
SSE_EVENT = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
    "required": ["data"],
}
RESPONSES: Responses = {
    200: {
        "model": AnswerBody,
        "description": "The checked answer; with stream, server-sent events: `token` "
        "events, then one `answer` event (an `error` event if generation fails).",
        "content": {"text/event-stream": {"schema": SSE_EVENT}},
    },
    502: {"model": ErrorBody, "description": "the generator failed after it began"},
    **KEY_REFUSED,
    **BAD_BODY,
    **NOT_FOUND,
    **NO_INDEX,
}
log = logging.getLogger("rag.service")


@dataclass(frozen=True)
class Served:
    """An answer and the index generation its passages were retrieved from."""

    answer: Answer
    generation: int

    def data(self) -> dict[str, Any]:
        return AnswerBody.served(self.answer, self.generation).model_dump(mode="json")


@router.post("/query", response_model=AnswerBody, responses=RESPONSES)
def query(
    body: QueryRequest,
    request: Request,
    library: LibraryDep,
    models: ModelsDep,
    principal: UserDep,
) -> JSONResponse | StreamingResponse:
    """Answer from the documents: every sentence cited and checked, or a refusal.

    With `"stream": true` the reply is `text/event-stream`: `token` events carry
    the text as it is generated, then one `answer` event carries the whole checked
    answer (the same JSON as without streaming).
    """
    collection = library.for_reader(principal, body.collection)
    settings, holder = collection.settings, collection.holder
    changes: dict[str, Any] = {"passages": body.top_k or settings.answer.passages}
    if body.generator:
        changes["generator"] = body.generator
    if body.query_transform:
        changes["query_transform"] = body.query_transform
    settings = settings.with_changes(answer=changes)
    check_limits(body.question, settings.answer.passages, settings)
    mode = body.mode or settings.retrieval.mode
    filters = body.filters.to_filters()
    question = body.question
    if body.history:
        history = [{"role": t.role, "content": t.content} for t in body.history]
        question = condense(question, history, models.llm.tasks)
    events = answer_events(models, settings, holder, question, mode, filters)
    if body.stream:
        return StreamingResponse(_sse(events), media_type="text/event-stream")
    served = [e for e in events if isinstance(e, Served)][-1]
    request.state.log_fields = {
        "generation": served.generation,
        "refused": served.answer.refused,
        "stages_ms": served.answer.timings_ms,
    }
    return JSONResponse(served.data())


def answer_events(
    models: Models,
    settings: Settings,
    holder: IndexHolder,
    question: str,
    mode: FusionMode,
    filters: Filters,
) -> Iterator[str | Shown | Served]:
    with holder.acquire() as live:
        answerer = make_answerer(settings, live.retriever, models.embedder, models.llm)
        for event in answerer.stream(question, mode, filters):
            if isinstance(event, Answer):
                if models.metrics is not None:
                    models.metrics.answered(event)
                yield Served(event, live.generation)
            else:
                yield event


def _sse(events: Iterator[str | Shown | Served]) -> Iterator[str]:
    try:
        for event in events:
            if isinstance(event, Served):
                yield _frame("answer", event.data())
            elif isinstance(event, str):
                yield _frame("token", {"text": event})
    except RagError as error:
        yield _frame("error", {"error": str(error)})
    except Exception:
        log.exception("unexpected error while streaming an answer")
        yield _frame("error", {"error": "internal error"})


def _frame(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"
