"""Removing documents: a new generation without them, no model work."""

from __future__ import annotations

from ingest.writer import kept_entry, write_generation
from rag.errors import ConfigError
from rag.index import generations
from rag.index.snapshot import Snapshot, open_current
from rag.index.store import DocumentRecord
from rag.raptor_marks import DOCS, is_summary
from rag.settings import Settings


def remove_documents(settings: Settings, targets: list[str]) -> list[str]:
    """Remove documents named by id, source key or source path; returns removed ids."""
    index_dir = settings.index_dir
    with generations.ingest_lock(index_dir):
        old = open_current(index_dir)
        try:
            rows = list(old.store.documents())
            wanted = set(targets)
            doomed = [r for r in rows if wanted & {r.doc_id, r.source_key, r.source_path}]
            if not doomed:
                raise ConfigError(
                    f"no document matches {', '.join(targets)}",
                    "see `rag index list` for ids and sources",
                )
            doomed_ids = {r.doc_id for r in doomed}
            doomed_ids |= _summaries_over(rows, doomed_ids)
            gone_sources = {r.source_path for r in doomed}
            still = {r.source_path for r in rows if r.doc_id not in doomed_ids}
            files = [f for p, f in old.store.files().items() if p not in gone_sources - still]
            kept = sorted(
                (r for r in rows if r.doc_id not in doomed_ids), key=lambda r: r.source_key
            )
            entries = (kept_entry(r, old) for r in kept)  # read from the live one as written
            number, folder = generations.start_partial(index_dir)
            write_generation(
                folder,
                number,
                settings.with_changes(**_built_with(old)),
                files,
                entries,
                old.manifest.dimension,
                int(old.manifest.data["embedding"]["max_tokens"]),
            )
        finally:
            old.close()
        generations.publish(index_dir, folder)
        generations.prune(index_dir, settings.ingest.keep_generations)
    return sorted(doomed_ids)


def _summaries_over(rows: list[DocumentRecord], doc_ids: set[str]) -> set[str]:
    """The RAPTOR summaries that summarise any of `doc_ids`: they go with them
    (the next ingest with the tree writes the ones that replace them)."""
    return {
        r.doc_id
        for r in rows
        if is_summary(r.source_key) and doc_ids & set(r.metadata.get(DOCS, "").split(","))
    }


def _built_with(old: Snapshot) -> dict[str, dict[str, object]]:
    """The settings groups the live generation was built with, and its shard
    count, so removal keeps them."""
    data = old.manifest.data
    groups = {group: data[group] for group in ("chunking", "tokenizer", "bm25", "dense")}
    embedding = {
        "model": data["embedding"]["model"],
        "backend": old.manifest.value("embedding.backend"),
    }
    shards = {"shards": len(old.manifest.shard_bounds) - 1}
    return groups | {"embedding": embedding, "ingest": shards}
