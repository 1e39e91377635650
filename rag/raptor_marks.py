"""How a RAPTOR summary is marked in the store (`ingest.raptor.tree`).

A summary is a document of one chunk whose `source_key` starts with "raptor:"
and whose metadata holds its level, its group id, its children (chunk ids at
level 1, group ids above), and the chunks and documents below it.
"""

from __future__ import annotations

from collections.abc import Mapping

SOURCE = "raptor"
PREFIX = "raptor:"
LEVEL = "raptor_level"
NODE = "raptor_node"
CHILDREN = "raptor_children"
LEAVES = "raptor_leaves"
DOCS = "raptor_docs"


def summary_key(node: str) -> str:
    return PREFIX + node


def is_summary(source_key: str) -> bool:
    return source_key.startswith(PREFIX)


def leaves_of(metadata: Mapping[str, str]) -> list[str]:
    """The chunk ids below a summary, in order."""
    return [c for c in metadata.get(LEAVES, "").split(",") if c]
