"""Bodies of the OpenAI-compatible routes, `GET /v1/models` and `POST /v1/chat/completions`.

Requests take OpenAI's shape and ignore fields they do not know, as OpenAI's
own clients expect; replies carry OpenAI's fields plus one extension, `rag`,
with the checked answer's citations, sentences and passages.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.service.schemas import AnswerBody


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(..., max_length=32)
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text; parts that are not text (images, audio) are left out."""
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's chat request. The last user message is the question; the turns
    before it are the history it is condensed with, as `/v1/query` does."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(..., max_length=256)
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=64)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=16, le=2048)
    max_completion_tokens: int | None = Field(None, ge=16, le=2048)
    temperature: float | None = Field(None, ge=0, le=2)
    n: int | None = Field(None, ge=1, le=1, description="One choice only.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "rag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = Field(
        description="Real token counts; null where the generating server did not report them"
    )
    rag: AnswerBody = Field(
        ...,
        description="The checked answer: citations with spans and pages, sentences with "
        "their verdicts, the passages shown.",
    )


class OpenAIError(BaseModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None


class OpenAIErrorBody(BaseModel):
    error: OpenAIError


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}
