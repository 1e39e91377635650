"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag.embedding import Embedder
from rag.llm.lazy import LazyLLM
from rag.service.auth import Principal, Role, principal_of
from rag.service.library import Collection, Library, missing
from rag.service.metrics import Metrics
from rag.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_library(request: Request) -> Library:
    library: Library = request.app.state.library
    return library


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
LibraryDep = Annotated[Library, Depends(get_library)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ModelsDep = Annotated[Models, Depends(get_models)]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Declares the bearer scheme in the OpenAPI schema; the key itself is checked below.
_BEARER = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer KEY`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]


def require_user(settings: SettingsDep, credentials: Credentials) -> Principal:
    principal = principal_of(credentials.credentials if credentials else None, settings.service)
    if principal.role is Role.NONE:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or unknown API key: send 'Authorization: Bearer KEY'",
            headers=_CHALLENGE,
        )
    return principal


def require_admin(principal: Annotated[Principal, Depends(require_user)]) -> Principal:
    if principal.role is not Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this route needs an admin API key")
    return principal


UserDep = Annotated[Principal, Depends(require_user)]
AdminDep = Annotated[Principal, Depends(require_admin)]
COLLECTION = Query(
    None,
    max_length=64,
    description="The collection to read (default: the key's only collection, else `default`).",
)


def read_collection(
    library: LibraryDep, principal: UserDep, collection: str | None = COLLECTION
) -> Collection:
    """The collection a GET names, if the key may read it (else 404, as for none)."""
    return library.for_reader(principal, collection)


def admin_collection(
    library: LibraryDep, principal: AdminDep, collection: str | None = COLLECTION
) -> Collection:
    """The collection an admin route names, if the key administers it."""
    found = library.for_reader(principal, collection)
    if not principal.can_write(found.name):
        raise missing()
    return found


ReadDep = Annotated[Collection, Depends(read_collection)]
AdminCollectionDep = Annotated[Collection, Depends(admin_collection)]
