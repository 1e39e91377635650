"""An exported model run by onnxruntime, tokenised by the tokenizers library.

Each text runs alone, one single-threaded inference per core in parallel,
pooled as the sentence-transformers model pools (mean over tokens, or the
first token), and normalised. Alone, because dynamic int8 quantises
activations with one scale per batch: in a batch, a text's vector depended on
its batch-mates (and on padding). It is also faster here: no padding, and on
SciFact passages two one-thread runs side by side gave about 29 passages/s
against 26 for one two-thread run and 20 for batches of 32.
Token offsets come from the model's own tokenizer, so chunks are sized
exactly as with the torch embedder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rag.embedding.base import Offsets, Vectors
from rag.embedding.onnx_export import FP32, INFO, INT8, exported_model
from rag.errors import ConfigError
from rag.settings import EmbeddingBackend, EmbeddingSettings


class OnnxEmbedder:
    def __init__(self, settings: EmbeddingSettings) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = exported_model(settings)
        info = json.loads((folder / INFO).read_text(encoding="utf-8"))
        self.name = settings.model
        self.dimension = int(info["dimension"])
        self.max_tokens = int(info["max_seq_length"]) - int(info["special_tokens"])
        self._pooling = str(info["pooling"])
        self._workers = settings.threads or os.cpu_count() or 1
        self._offsets = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._offsets.no_truncation()
        self._offsets.no_padding()
        self._encoder = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._encoder.enable_truncation(int(info["max_seq_length"]))
        self._encoder.no_padding()  # the saved tokenizer may pad to the window
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        model = folder / (INT8 if settings.backend is EmbeddingBackend.ONNX_INT8 else FP32)
        self._session = _session(ort, model, options)
        # A lone text (a query) gets every core: 4.2 ms on one thread at 100k-chunk
        # search here was most of the query's time.
        options.intra_op_num_threads = self._workers
        self._single = _session(ort, model, options)
        self._inputs = [i.name for i in self._session.get_inputs()]

    def token_offsets(self, text: str) -> Offsets:
        encoding = self._offsets.encode(text, add_special_tokens=False)
        return [(int(a), int(b)) for a, b in encoding.offsets]

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1 or self._workers == 1:
            return np.stack([self._embed_one(t, self._single) for t in texts])
        with ThreadPoolExecutor(self._workers) as pool:  # onnxruntime releases the GIL
            return np.stack(list(pool.map(self._embed_one, texts, [self._session] * len(texts))))

    def _embed_one(self, text: str, session: Any) -> npt.NDArray[np.float32]:
        encoding = self._encoder.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {n: feeds[n] for n in self._inputs})[0]
        vector: npt.NDArray[np.float32] = _normalise(_pool(hidden, self._pooling))[0]
        return vector


def _session(ort: Any, model: Path, options: Any) -> Any:
    try:
        return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ConfigError(
            f"cannot load the exported model {model}: {exc}",
            f"delete {model.parent} to export it again",
        ) from None


def _pool(hidden: npt.NDArray[np.float32], mode: str) -> Vectors:
    """Pooled over every token: a lone text is unpadded (see `onnx_export`)."""
    if mode == "cls":
        return np.asarray(hidden[:, 0], dtype=np.float32)
    return np.asarray(hidden.mean(axis=1), dtype=np.float32)


def _normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
