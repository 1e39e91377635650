"""Paired significance tests for comparing two runs item by item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairedResult:
    n: int
    mean_a: float
    mean_b: float
    difference: float  # mean of b - a
    low: float  # bootstrap 95% interval of the difference
    high: float
    p_value: float  # two-sided paired permutation (sign-flip) test

    def verdict(self, alpha: float = 0.05) -> str:
        if self.n == 0 or self.p_value >= alpha:
            return "no significant difference"
        return "B better" if self.difference > 0 else "B worse"


def paired_test(
    a: Sequence[float], b: Sequence[float], resamples: int = 10_000, seed: int = 0
) -> PairedResult:
    """Bootstrap interval and sign-flip permutation p-value for mean(b - a)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError("paired samples must have the same length")
    n = len(x)
    if n == 0:
        return PairedResult(0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    diff = y - x
    rng = np.random.default_rng(seed)
    boot = diff[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    signs = rng.choice((-1.0, 1.0), size=(resamples, n))
    flipped = np.abs((signs * diff).mean(axis=1))
    observed = abs(diff.mean())
    p = (1 + int((flipped >= observed - 1e-12).sum())) / (resamples + 1)
    return PairedResult(
        n,
        float(x.mean()),
        float(y.mean()),
        float(diff.mean()),
        float(np.quantile(boot, 0.025)),
        float(np.quantile(boot, 0.975)),
        p if observed > 0 else 1.0,
    )
