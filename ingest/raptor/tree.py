"""The RAPTOR tree: chunks clustered and summarised, level by level.

Level 1 groups the chunks (`ingest.raptor.cluster`), and each group of two
or more gets a summary written by the LLM; level 2 groups those summaries
the same way, and so on up to `raptor.levels`, or until one group is left.
Each summary becomes a document of one chunk (`source_key` "raptor:<id>"),
embedded and indexed beside the chunks; its metadata names its level, its
children and the chunks (and their documents) below it, so a search that
finds it can hand on those chunks (`rag.retrieval.summaries`) and an answer
cites only the original text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ingest.raptor.cluster import Group, regroup
from ingest.raptor.summaries import Summariser
from rag.documents import Chunk, Document
from rag.index.store import ChunkRecord, DocumentRecord
from rag.raptor_marks import CHILDREN, DOCS, LEAVES, LEVEL, NODE, SOURCE, summary_key
from rag.settings import RaptorSettings

Vectors = npt.NDArray[np.float32]
TITLE_CHARS = 160


@dataclass(frozen=True)
class Node:
    """A chunk (level 0) or a summary: what the level above groups."""

    id: str  # a chunk's id, or the summary's group id
    level: int
    text: str
    vector: Vectors
    leaves: tuple[str, ...]  # the chunk ids below it (itself for a chunk)
    docs: tuple[str, ...]  # their documents' ids
    titles: tuple[str, ...]  # their documents' titles
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    """A summary ready to be written: its document, chunk row and vector."""

    doc: DocumentRecord
    chunk: ChunkRecord
    vector: Vectors


def previous_groups(summaries: Sequence[DocumentRecord]) -> dict[int, list[Group]]:
    """The groups of the live tree, by level, from its summary documents."""
    levels: dict[int, list[Group]] = {}
    for doc in summaries:
        meta = doc.metadata
        group = Group(meta[NODE], tuple(meta[CHILDREN].split(",")))
        levels.setdefault(int(meta[LEVEL]), []).append(group)
    return levels


def build_tree(
    leaves: Sequence[Node],
    previous: dict[int, list[Group]],
    settings: RaptorSettings,
    summariser: Summariser,
    embed: Callable[[list[str]], Vectors],
    tick: Callable[[], None] = lambda: None,
) -> list[Node]:
    """Every summary node of the tree over `leaves` (chunks, in corpus order)."""
    nodes: list[Node] = []
    items = list(leaves)
    for level in range(1, settings.levels + 1):
        if len(items) < 2:
            break
        vectors = np.stack([n.vector for n in items]).astype(np.float32)
        found = regroup(
            [n.id for n in items],
            vectors,
            previous.get(level, []),
            settings.cluster_size,
            level,
            settings.seed,
        )
        groups = [g for g in found if len(g.members) >= 2]
        if not groups:
            break
        by_id = {n.id: n for n in items}
        texts = []
        for group in groups:
            texts.append(summariser.summary([by_id[m].text for m in group.members]))
            tick()
        made = embed(texts)
        items = [_node(g, level, t, v, by_id) for g, t, v in zip(groups, texts, made, strict=True)]
        nodes += items
        if len(groups) == 1:
            break
    return nodes


def _node(group: Group, level: int, text: str, vector: Vectors, by_id: dict[str, Node]) -> Node:
    below = [by_id[m] for m in group.members]
    return Node(
        id=group.id,
        level=level,
        text=text,
        vector=vector,
        leaves=tuple(leaf for n in below for leaf in n.leaves),
        docs=tuple(dict.fromkeys(d for n in below for d in n.docs)),
        titles=tuple(dict.fromkeys(t for n in below for t in n.titles)),
        children=group.members,
    )


def summary_rows(node: Node, count_tokens: Callable[[str], int]) -> Summary:
    """The document and chunk rows of a summary node."""
    title = "Summary: " + "; ".join(node.titles)
    doc = Document(
        source_path=SOURCE,
        source_key=summary_key(node.id),
        title=title[:TITLE_CHARS],
        text=node.text,
        metadata={
            LEVEL: str(node.level),
            NODE: node.id,
            CHILDREN: ",".join(node.children),
            LEAVES: ",".join(node.leaves),
            DOCS: ",".join(node.docs),
        },
    )
    chunk = Chunk(doc.doc_id, 0, node.text, 0, len(node.text), count_tokens(node.text))
    return Summary(DocumentRecord.of(doc), ChunkRecord.of(chunk), node.vector)
