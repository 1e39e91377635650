"""Metadata filters: which chunks a search may return.

A filter narrows by document id (or leaves documents out), by source path
prefix, and by any document metadata key (exact string match). Filters are
applied before ranking on both sides, so top_k is filled from matching chunks
only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rag.errors import ConfigError
from rag.index.store import Store


@dataclass(frozen=True)
class Filters:
    doc_ids: Sequence[str] = ()
    source_prefix: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    exclude_doc_ids: Sequence[str] = ()

    @property
    def empty(self) -> bool:
        return not (self.doc_ids or self.source_prefix or self.metadata or self.exclude_doc_ids)


def allowed_positions(store: Store, filters: Filters) -> npt.NDArray[np.int64] | None:
    """Sorted chunk positions passing `filters`; None when nothing is filtered."""
    if filters.empty:
        return None
    unknown = set(filters.metadata) - store.metadata_keys()
    if unknown:
        known = ", ".join(sorted(store.metadata_keys())) or "none"
        raise ConfigError(
            f"unknown metadata key(s): {', '.join(sorted(unknown))}",
            f"the indexed documents have: {known}",
        )
    clauses: list[str] = []
    params: list[Any] = []
    if filters.doc_ids:
        clauses.append(f"d.doc_id IN ({', '.join('?' for _ in filters.doc_ids)})")
        params.extend(filters.doc_ids)
    if filters.exclude_doc_ids:
        marks = ", ".join("?" for _ in filters.exclude_doc_ids)
        clauses.append(f"d.doc_id NOT IN ({marks})")
        params.extend(filters.exclude_doc_ids)
    if filters.source_prefix:
        clauses.append("substr(d.source_path, 1, ?) = ?")
        params.extend([len(filters.source_prefix), filters.source_prefix])
    for key, value in filters.metadata.items():
        clauses.append("json_extract(d.metadata, ?) = ?")
        params.extend([f'$."{key}"', value])
    positions = store.positions_where(" AND ".join(clauses), params)
    return np.asarray(positions, dtype=np.int64)
