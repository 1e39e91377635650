"""Grouping vectors into clusters of about `size`, stable from one ingest to the next.

A fresh grouping is spherical k-means (cosine, k-means++ seeded). A regrouping starts
from the previous groups: each keeps its members that still exist, a new item
joins the nearest group when it is about as close to that group's centre as
the group's own farthest member (`JOIN_SLACK`) and the group has room, and the items
left over are grouped afresh. So an ingest that changes a few files changes
only the groups those files' chunks were or are in; every other group keeps
its members, and its summary (`ingest.raptor.summaries`) is reused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rag.documents import short_hash

Vectors = npt.NDArray[np.float32]
ITERATIONS = 20
BLOCK = 4096  # rows scored against the centres at a time
JOIN_SLACK = 0.05  # cosine below a group's farthest member at which a new item still joins


@dataclass(frozen=True)
class Group:
    id: str
    members: tuple[str, ...]  # item ids, in the order of the items


def group_id(level: int, members: Sequence[str]) -> str:
    """A new group's id: fixed when it is made, kept while it lives."""
    return short_hash("raptor", str(level), *sorted(members))


def kmeans(vectors: Vectors, k: int, seed: int) -> npt.NDArray[np.intp]:
    """Each row's cluster among `k`, by spherical k-means from `k` seeded rows."""
    n = len(vectors)
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=np.intp)
    centres = _seeds(vectors, min(k, n), np.random.default_rng(seed))
    labels = np.full(n, -1, dtype=np.intp)
    for _ in range(ITERATIONS):
        fresh = _nearest(vectors, centres)
        if np.array_equal(fresh, labels):
            break
        labels = fresh
        centres = _centres(vectors, labels, centres)
    return labels


def _seeds(vectors: Vectors, k: int, rng: np.random.Generator) -> Vectors:
    """k-means++ seeding on cosine distance: each next seed drawn with
    probability growing with its squared distance to the seeds so far."""
    chosen = [int(rng.integers(len(vectors)))]
    far = np.clip(1.0 - vectors @ vectors[chosen[0]], 0.0, None).astype(np.float64)
    while len(chosen) < k:
        weights = far**2
        total = float(weights.sum())
        if total <= 0:  # every row sits on a seed already
            break
        chosen.append(int(rng.choice(len(vectors), p=weights / total)))
        far = np.minimum(far, np.clip(1.0 - vectors @ vectors[chosen[-1]], 0.0, None))
    return vectors[chosen].copy()


def _nearest(vectors: Vectors, centres: Vectors) -> npt.NDArray[np.intp]:
    out = np.empty(len(vectors), dtype=np.intp)
    for start in range(0, len(vectors), BLOCK):
        out[start : start + BLOCK] = np.argmax(vectors[start : start + BLOCK] @ centres.T, axis=1)
    return out


def _centres(vectors: Vectors, labels: npt.NDArray[np.intp], old: Vectors) -> Vectors:
    """Each cluster's normalised mean; an emptied cluster keeps its centre."""
    sums = np.zeros_like(old)
    np.add.at(sums, labels, vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.where(norms > 0, sums / np.maximum(norms, 1e-12), old).astype(np.float32)


def fresh_groups(
    ids: Sequence[str], vectors: Vectors, size: int, level: int, seed: int
) -> list[Group]:
    """`ids` (rows of `vectors`) in groups of about `size`; none above twice `size`."""
    if not ids:
        return []
    labels = kmeans(vectors, math.ceil(len(ids) / size), seed)
    groups: list[Group] = []
    for label in sorted(set(labels.tolist()), key=lambda x: int(np.argmax(labels == x))):
        rows = np.flatnonzero(labels == label)
        members = [ids[int(i)] for i in rows]
        if len(members) > 2 * size and len(set(labels.tolist())) > 1:
            groups += fresh_groups(members, vectors[rows], size, level, seed + 1)
        elif len(members) > 2 * size:  # k-means could not split it: cut it in order
            for start in range(0, len(members), size):
                part = members[start : start + size]
                groups.append(Group(group_id(level, part), tuple(part)))
        else:
            groups.append(Group(group_id(level, members), tuple(members)))
    return groups


def regroup(
    ids: Sequence[str],
    vectors: Vectors,
    previous: Sequence[Group],
    size: int,
    level: int,
    seed: int,
) -> list[Group]:
    """`ids` grouped, keeping `previous` groups where their members remain."""
    row = {item: i for i, item in enumerate(ids)}
    kept: dict[str, list[str]] = {}
    for group in previous:
        members = [m for m in group.members if m in row]
        if members:
            kept[group.id] = members
    placed = {m for members in kept.values() for m in members}
    loose = [item for item in ids if item not in placed]
    left = _join(loose, vectors, row, kept, 2 * size)
    rows = [row[item] for item in left]
    groups = [Group(gid, tuple(sorted(ms, key=row.__getitem__))) for gid, ms in kept.items()]
    return groups + fresh_groups(left, vectors[rows], size, level, seed)


def _join(
    loose: Sequence[str],
    vectors: Vectors,
    row: Mapping[str, int],
    kept: dict[str, list[str]],
    most: int,
) -> list[str]:
    """Adds each loose item to the nearest kept group that would have it (see
    the module's docstring); returns the items no group took."""
    if not kept or not loose:
        return list(loose)
    names = list(kept)
    centres = np.stack([_centre(vectors, row, kept[g]) for g in names])
    reach = np.array(
        [
            min(float(vectors[row[m]] @ c) for m in kept[g])
            for g, c in zip(names, centres, strict=True)
        ]
    )
    left: list[str] = []
    for item in loose:
        scores = centres @ vectors[row[item]]
        best = int(np.argmax(scores))
        if scores[best] >= reach[best] - JOIN_SLACK and len(kept[names[best]]) < most:
            kept[names[best]].append(item)
        else:
            left.append(item)
    return left


def _centre(vectors: Vectors, row: Mapping[str, int], members: Sequence[str]) -> Vectors:
    mean: Vectors = vectors[[row[m] for m in members]].mean(axis=0, dtype=np.float32)
    centre: Vectors = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return centre
