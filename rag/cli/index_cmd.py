"""`rag index stats|list|rm|collections --index DIR [--collection NAME]`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rag.cli import exit_codes
from rag.cli.options import add_collection, add_common, in_collection
from rag.index.collections import collection_dir, collection_names
from rag.index.generations import current_generation
from rag.index.manifest import Manifest
from rag.index.snapshot import open_current
from rag.index.store import DocumentSummary
from rag.settings import load_settings


def add_index_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "index", help="inspect or edit an index", description="Inspect or edit an index."
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    stats = actions.add_parser(
        "stats",
        help="sizes, settings and versions of the live index",
        epilog="example: rag index stats --index .rag/index",
    )
    add_common(stats)
    add_collection(stats)
    stats.add_argument("--json", action="store_true", help="print the manifest as JSON")
    stats.set_defaults(run=run_stats)
    listing = actions.add_parser(
        "list", help="one line per document", epilog="example: rag index list --index .rag/index"
    )
    add_common(listing)
    add_collection(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per document")
    listing.set_defaults(run=run_list)
    remove = actions.add_parser(
        "rm",
        help="remove documents (by id, source key or path)",
        epilog="example: rag index rm 3f2a9c1e0b7d4a55 --index .rag/index",
    )
    add_common(remove)
    add_collection(remove)
    remove.add_argument("documents", nargs="+", metavar="DOC")
    remove.add_argument("--json", action="store_true", help="print the removed ids as JSON")
    remove.set_defaults(run=run_rm)
    collections = actions.add_parser(
        "collections",
        help="one line per collection under the index root",
        epilog="example: rag index collections --index .rag/index",
    )
    add_common(collections)
    collections.add_argument("--json", action="store_true", help="print a JSON list")
    collections.set_defaults(run=run_collections)


def run_stats(args: argparse.Namespace) -> int:
    settings = in_collection(load_settings(args.config, index_dir=args.index), args)
    folder = current_generation(settings.index_dir)
    snapshot = open_current(settings.index_dir)
    try:
        data = snapshot.manifest.data
    finally:
        snapshot.close()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return exit_codes.OK
    counts = data["counts"]
    lines = [
        ("index", str(settings.index_dir)),
        ("generation", f"{data['generation']} (built {data['created_at']})"),
        ("documents", counts["documents"]),
        ("chunks", counts["chunks"]),
        ("files", counts["files"]),
        ("BM25 terms", counts["terms"]),
        ("embedding model", f"{data['embedding']['model']} ({data['embedding']['dimension']} d)"),
        ("chunking", _describe(data["chunking"])),
        ("dense index", _dense_type(data)),
        ("shards", len(data.get("shards", {}).get("bounds", [0, 0])) - 1),
        ("size on disk", f"{_size_mb(folder):.1f} MB"),
    ]
    for name, value in lines:
        print(f"{name:<16} {value}")
    return exit_codes.OK


def _dense_type(manifest: dict[str, Any]) -> str:
    chosen = manifest["dense"]["index_type"]
    built = manifest.get("built", {}).get("dense_index", chosen)
    return built if built == chosen else f"{built} ({chosen})"


def run_list(args: argparse.Namespace) -> int:
    settings = in_collection(load_settings(args.config, index_dir=args.index), args)
    snapshot = open_current(settings.index_dir)
    try:
        for doc in snapshot.store.document_summaries():
            if args.json:
                print(json.dumps(_summary(doc)))
                continue
            name = Path(doc.source_path).name
            extra = doc.source_key.partition("#")[2]
            label = f"{name}#{extra}" if extra else name
            print(f"{doc.doc_id}  {doc.n_chunks:>5} chunks  {label}  {doc.title}")
    finally:
        snapshot.close()
    return exit_codes.OK


def run_rm(args: argparse.Namespace) -> int:
    from ingest.remove import remove_documents

    settings = in_collection(load_settings(args.config, index_dir=args.index), args)
    removed = remove_documents(settings, args.documents)
    if args.json:
        print(json.dumps({"removed": removed}))
    else:
        print(f"removed {len(removed)} document(s): {' '.join(removed)}")
    return exit_codes.OK


def run_collections(args: argparse.Namespace) -> int:
    root = load_settings(args.config, index_dir=args.index).index_dir
    rows = [_collection(root, name) for name in collection_names(root)]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no collections under {root}; make one with `rag ingest PATH --collection NAME`")
    else:
        width = max(len("collection"), *(len(row["name"]) for row in rows))
        print(f"{'collection':<{width}}  {'documents':>9}  {'chunks':>9}  generation")
        for row in rows:
            print(
                f"{row['name']:<{width}}  {row['documents']:>9}  {row['chunks']:>9}  "
                f"{row['generation']}"
            )
    return exit_codes.OK


def _collection(root: Path, name: str) -> dict[str, Any]:
    """Name, counts and live generation of one collection, from its manifest."""
    manifest = Manifest.read(current_generation(collection_dir(root, name)))
    counts = manifest.data["counts"]
    return {
        "name": name,
        "documents": counts["documents"],
        "chunks": counts["chunks"],
        "generation": manifest.generation,
    }


def _summary(doc: DocumentSummary) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "source": doc.source_path,
        "source_key": doc.source_key,
        "chunks": doc.n_chunks,
        "metadata": dict(doc.metadata),
    }


def _describe(chunking: dict[str, Any]) -> str:
    return f"{chunking['strategy']}, {chunking['size']} tokens, overlap {chunking['overlap']}"


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
