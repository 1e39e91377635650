"""API keys sent as bearer tokens: who the caller is and which collections it
may read (and, as an admin, write). Keys are compared in constant time and
never logged.

Keys come from `service.keys` (key -> role and collections; a key may be given
as `sha256:<hex>` so the settings hold no secret) and from the older
`service.user_keys` / `service.admin_keys`, which grant every collection.
With no keys configured every request is an admin of every collection, and
`rag serve` binds to loopback only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from rag.index.collections import DEFAULT
from rag.settings import KeyGrant, ServiceSettings

HASHED = "sha256:"
EVERY = "*"


class Role(Enum):
    NONE = 0
    USER = 1
    ADMIN = 2


@dataclass(frozen=True)
class Principal:
    """A caller: its role, the collections it may read (None: every one), and
    `owner`, the SHA-256 of its key, which marks what it creates (batches)."""

    role: Role
    collections: frozenset[str] | None = None
    owner: str = ""

    def can_read(self, name: str) -> bool:
        if self.role is Role.NONE:
            return False
        return self.collections is None or name in self.collections

    def can_write(self, name: str) -> bool:
        return self.role is Role.ADMIN and self.can_read(name)

    def readable(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if self.can_read(name)]

    @property
    def default_collection(self) -> str:
        """The key's only collection, else `default`."""
        if self.collections is not None and len(self.collections) == 1:
            return next(iter(self.collections))
        return DEFAULT


NOBODY = Principal(Role.NONE)
EVERYONE = Principal(Role.ADMIN)  # no keys configured, or the local `rag mcp`


def keyed(settings: ServiceSettings) -> bool:
    return bool(settings.user_keys or settings.admin_keys or settings.keys)


def principal_of(token: str | None, settings: ServiceSettings) -> Principal:
    """The caller a bearer token (the key after `Bearer `) makes."""
    if not keyed(settings):
        return EVERYONE
    token = token.strip() if token else None
    if not token:
        return NOBODY
    return principal_of_digest(_digest(token), settings, token)


def principal_of_digest(
    digest: str, settings: ServiceSettings, token: str | None = None
) -> Principal:
    """The caller whose key hashes to `digest` (how a batch finds its owner again)."""
    if not keyed(settings):
        return EVERYONE
    found = NOBODY
    for secret, grant in _grants(settings):  # every key is compared: timing tells nothing
        if secret.startswith(HASHED):
            hit = hmac.compare_digest(digest.encode(), secret.removeprefix(HASHED).lower().encode())
        elif token is not None:
            hit = hmac.compare_digest(token.encode(), secret.encode())
        else:
            hit = hmac.compare_digest(digest.encode(), _digest(secret).encode())
        if hit and found is NOBODY:
            found = _principal(grant, digest)
    return found


def _grants(settings: ServiceSettings) -> list[tuple[str, KeyGrant]]:
    every = (EVERY,)
    grants = [(key, KeyGrant(role="admin", collections=every)) for key in settings.admin_keys]
    grants += [(key, KeyGrant(role="user", collections=every)) for key in settings.user_keys]
    return grants + list(settings.keys.items())


def _principal(grant: KeyGrant, digest: str) -> Principal:
    role = Role.ADMIN if grant.role == "admin" else Role.USER
    names = None if EVERY in grant.collections else frozenset(grant.collections)
    return Principal(role, names, digest)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
