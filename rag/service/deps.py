"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag.embedding import Embedder
from rag.llm.lazy import LazyLLM
from rag.service.auth import Role, role_of
from rag.service.holder import IndexHolder
from rag.service.metrics import Metrics
from rag.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_holder(request: Request) -> IndexHolder:
    holder: IndexHolder = request.app.state.holder
    return holder


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


@dataclass(frozen=True)
class Models:
    """What answers need besides the index, and where their figures are counted."""

    embedder: Embedder
    llm: LazyLLM
    metrics: Metrics | None = None


def get_models(request: Request) -> Models:
    state = request.app.state
    return Models(state.embedder, state.llm, state.metrics)


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[IndexHolder, Depends(get_holder)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ModelsDep = Annotated[Models, Depends(get_models)]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Declares the bearer scheme in the OpenAPI schema; the key itself is checked below.
_BEARER = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer KEY`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]


def require_user(settings: SettingsDep, credentials: Credentials) -> Role:
    role = role_of(credentials.credentials if credentials else None, settings.service)
    if role is Role.NONE:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or unknown API key: send 'Authorization: Bearer KEY'",
            headers=_CHALLENGE,
        )
    return role


def require_admin(role: Annotated[Role, Depends(require_user)]) -> Role:
    if role is not Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this route needs an admin API key")
    return role


UserDep = Annotated[Role, Depends(require_user)]
AdminDep = Annotated[Role, Depends(require_admin)]
