"""What the CPU can do: int8 and float32 matrix-multiply peaks, measured with
onnxruntime's own kernels, and an embedder's rate as a share of them.

The peak is one `MatMulInteger` (int8: the kernel dynamic quantisation runs)
or `MatMul` (float32) of the model's largest layer shape, `tokens` rows by the
FFN weight, with one single-threaded session per core running side by side,
exactly as the ONNX embedder runs its texts. An embedder's operations are
counted from its exported graph: every weight matmul (K x N per token), and
the two attention matmuls per layer (tokens x tokens x hidden each).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SECONDS = 1.5


def _graph(int8: bool, m: int, k: int, n: int) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if int8:
        weight = numpy_helper.from_array(rng.integers(-127, 128, (k, n), dtype=np.int8), "w")
        node = helper.make_node("MatMulInteger", ["a", "w"], ["y"])
        a_type, y_type = TensorProto.UINT8, TensorProto.INT32
    else:
        weight = numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32), "w")
        node = helper.make_node("MatMul", ["a", "w"], ["y"])
        a_type, y_type = TensorProto.FLOAT, TensorProto.FLOAT
    graph = helper.make_graph(
        [node],
        "peak",
        [helper.make_tensor_value_info("a", a_type, [m, k])],
        [helper.make_tensor_value_info("y", y_type, [m, n])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return bytes(model.SerializeToString())


def peak_gops(int8: bool, m: int, k: int, n: int, workers: int | None = None) -> float:
    """Giga-operations (2 per multiply-add) per second, `workers` one-thread sessions at once."""
    import onnxruntime as ort

    workers = workers or os.cpu_count() or 1
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        _graph(int8, m, k, n), options, providers=["CPUExecutionProvider"]
    )
    rng = np.random.default_rng(1)
    a = (
        rng.integers(0, 256, (m, k), dtype=np.uint8)
        if int8
        else rng.standard_normal((m, k), dtype=np.float32)
    )
    session.run(None, {"a": a})
    counts = [0] * workers

    def spin(i: int, until: float) -> None:
        while time.perf_counter() < until:
            session.run(None, {"a": a})
            counts[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=spin, args=(i, started + SECONDS)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return 2.0 * m * k * n * sum(counts) / seconds / 1e9


@dataclass(frozen=True)
class GraphOps:
    """An exported encoder's matmuls: multiply-adds per token in its weight
    matmuls, how many attention matmuls it has, its hidden size, and its
    widest weight (K, N)."""

    per_token: int
    attention: int
    hidden: int
    widest: tuple[int, int]

    def passage(self, tokens: int) -> float:
        """Operations (2 per multiply-add) to encode one passage of `tokens` tokens."""
        return 2.0 * (tokens * self.per_token + self.attention * tokens * tokens * self.hidden)


def graph_ops(model: Path) -> GraphOps:
    import onnx

    graph = onnx.load(str(model), load_external_data=False).graph
    weights = {
        i.name: (int(i.dims[0]), int(i.dims[1])) for i in graph.initializer if len(i.dims) == 2
    }
    shapes, attention = [], 0
    for node in graph.node:
        if node.op_type in ("MatMul", "MatMulInteger"):
            shape = weights.get(node.input[1])
            attention += shape is None
            shapes += [shape] if shape else []
    if not shapes:
        raise ValueError(f"{model} has no weight matmuls")
    widest = max(shapes, key=lambda s: s[0] * s[1])
    return GraphOps(sum(a * b for a, b in shapes), attention, shapes[0][0], widest)


def machine_peaks(tokens: int, widest: tuple[int, int]) -> dict[str, float]:
    """Both peaks, on a (tokens x K) by (K x N) product."""
    k, n = widest
    return {
        "int8": round(peak_gops(True, tokens, k, n), 1),
        "fp32": round(peak_gops(False, tokens, k, n), 1),
    }


def share(
    ops: GraphOps, token_counts: list[int], passages_per_s: float, peak: float
) -> dict[str, float]:
    """An embedder's effective rate (operations per second) and its share of `peak`."""
    per_passage = sum(ops.passage(t) for t in token_counts) / len(token_counts)
    effective = per_passage * passages_per_s / 1e9
    return {"gops": round(effective, 1), "peak_share": round(effective / peak, 3)}
