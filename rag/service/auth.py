"""API keys sent as bearer tokens, compared in constant time, never logged.

With no keys configured every request is allowed, and `rag serve` binds to
loopback only.
"""

from __future__ import annotations

import hmac
from enum import Enum

from rag.settings import ServiceSettings


class Role(Enum):
    NONE = 0
    USER = 1
    ADMIN = 2


def role_of(token: str | None, settings: ServiceSettings) -> Role:
    """The role a bearer token (the key after `Bearer `) grants."""
    if not settings.user_keys and not settings.admin_keys:
        return Role.ADMIN
    token = token.strip() if token else None
    if not token:
        return Role.NONE
    if _matches(token, settings.admin_keys):
        return Role.ADMIN
    if _matches(token, settings.user_keys):
        return Role.USER
    return Role.NONE


def _matches(token: str, keys: tuple[str, ...]) -> bool:
    found = False
    for key in keys:  # compare with every key, so timing does not reveal which matched
        found |= hmac.compare_digest(token.encode(), key.encode())
    return found
