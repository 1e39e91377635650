"""Embedders, chosen by `embedding.backend`: onnxruntime int8 (the default),
onnxruntime float32, or sentence-transformers on torch (the reference)."""

from __future__ import annotations

from rag.embedding.base import Embedder, Offsets, Tokenizer, Vectors, resolve_model
from rag.settings import EmbeddingBackend, EmbeddingSettings

__all__ = ["Embedder", "Offsets", "Tokenizer", "Vectors", "make_embedder", "resolve_model"]


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    if settings.backend is EmbeddingBackend.TORCH:
        from rag.embedding.torch_st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings)
    from rag.embedding.onnx_run import OnnxEmbedder

    return OnnxEmbedder(settings)
