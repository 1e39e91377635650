"""Chunking strategies behind one `Chunker` protocol."""

from __future__ import annotations

from ingest.chunking.base import Chunker
from ingest.chunking.fixed import FixedChunker
from ingest.chunking.recursive import RecursiveChunker
from ingest.chunking.semantic import SemanticChunker
from rag.embedding import Embedder
from rag.errors import ConfigError
from rag.settings import ChunkingSettings, ChunkStrategy


def make_chunker(settings: ChunkingSettings, embedder: Embedder) -> Chunker:
    if settings.size > embedder.max_tokens:
        raise ConfigError(
            f"chunking.size={settings.size} is over the {embedder.max_tokens} tokens "
            f"that {embedder.name} embeds; longer chunks would be truncated",
            f"set chunking.size to at most {embedder.max_tokens}",
        )
    match settings.strategy:
        case ChunkStrategy.FIXED:
            return FixedChunker(embedder, settings.size, settings.overlap)
        case ChunkStrategy.SEMANTIC:
            return SemanticChunker(embedder, settings.size, settings.semantic_percentile)
        case _:
            return RecursiveChunker(embedder, settings.size, settings.overlap)
