"""A stable order for taking slices of a dataset.

Items are ordered by a hash of their id: a slice is spread over the whole
dataset (SQuAD questions come grouped by article), the same on every run, and
the first 20 are always among the first 50, so a limited run can be extended
by resuming it with a larger limit. An offset skips the head of the order:
`--offset 200 --limit 40` is a tuning slice that shares no item with a
reported `--limit 200` run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def spread(
    items: Sequence[T], key: Callable[[T], str], limit: int | None = None, offset: int = 0
) -> list[T]:
    ordered = sorted(items, key=lambda item: hashlib.sha1(key(item).encode()).hexdigest())
    return ordered[offset:] if limit is None else ordered[offset : offset + limit]
