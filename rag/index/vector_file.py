"""`embeddings.npy` written as the vectors arrive, and read back a batch at a time.

The file is the one `np.save` writes of the stacked vectors, byte for byte:
the header is written first for zero rows and rewritten with the true count
at the end (NumPy pads the header so that the row count can grow in place).
Reading goes through the file, not a memory map: a mapped page read once
stays in the process's resident set, so a full pass over a mapped 1.5 GB file
costs 1.5 GB of RSS, while plain reads cost one batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
DTYPE = np.dtype("<f4")


def _header(fp: BinaryIO, rows: int, dimension: int) -> None:
    np.lib.format.write_array_header_1_0(
        fp, {"descr": DTYPE.str, "fortran_order": False, "shape": (rows, dimension)}
    )


class VectorWriter:
    def __init__(self, path: Path, dimension: int) -> None:
        self.path = path
        self.rows = 0
        self._dimension = dimension
        self._fp: BinaryIO = path.open("wb")
        _header(self._fp, 0, dimension)
        self._data_at = self._fp.tell()

    def append(self, vectors: Vectors) -> None:
        block = np.ascontiguousarray(vectors, dtype=DTYPE).reshape(-1, self._dimension)
        self._fp.write(block.tobytes())
        self.rows += len(block)

    def release(self) -> None:
        """Closes the file if `close` did not (a write that failed half-way)."""
        if not self._fp.closed:
            self._fp.close()

    def close(self) -> None:
        self._fp.seek(0)
        _header(self._fp, self.rows, self._dimension)
        if self._fp.tell() != self._data_at:  # cannot happen below 10**21 rows
            raise ValueError(f"{self.path}: the header grew with the row count")
        self._fp.close()


def shape(path: Path) -> tuple[int, int]:
    rows, dimension = np.load(path, mmap_mode="r").shape  # reads the header only
    return int(rows), int(dimension)


def batches(path: Path, batch: int) -> Iterator[tuple[int, Vectors]]:
    """(first row, rows) of the file, `batch` rows at a time."""
    rows, dimension = shape(path)
    with path.open("rb") as fp:
        if np.lib.format.read_magic(fp) == (1, 0):  # positions the file at the data
            np.lib.format.read_array_header_1_0(fp)
        else:
            np.lib.format.read_array_header_2_0(fp)
        for first in range(0, rows, batch):
            count = min(batch, rows - first)
            data = np.fromfile(fp, dtype=DTYPE, count=count * dimension)
            yield first, data.reshape(count, dimension)
