"""PNG plots for the reports (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def mode_bars(
    modes: Mapping[str, Mapping[str, Any]],
    published: Sequence[Mapping[str, Any]],
    path: Path,
    metric: str = "ndcg@10",
) -> Path:
    """Our modes as bars, published references as labelled horizontal lines."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    names = list(modes)
    values = [modes[m][metric] for m in names]
    bars = ax.bar(names, values, color="#3b6ea5")
    ax.bar_label(bars, fmt="%.3f")
    for n, ref in enumerate(published):
        ax.axhline(ref[metric], color=f"C{n + 1}", linestyle="--", linewidth=1, label=ref["method"])
    if published:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="published")
    everything = [*values, *(r[metric] for r in published)]
    ax.set_ylim(max(0.0, min(everything) - 0.1), min(1.0, max(everything) + 0.03))
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by mode")
    return _save(fig, path)


def latency_boxes(samples: Mapping[str, Sequence[float]], path: Path, unit: str = "ms") -> Path:
    fig, ax = plt.subplots(figsize=(8, 4))
    names = [n for n in samples if samples[n]]
    ax.boxplot([samples[n] for n in names], tick_labels=names, showfliers=True)
    ax.set_ylabel(unit)
    ax.set_yscale("log")
    ax.set_title("latency per item")
    return _save(fig, path)


def tradeoff_curve(curve: Sequence[Mapping[str, float]], chosen: float, path: Path) -> Path:
    """Refusal of unanswerable questions against false refusal of answerable ones."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    x = [p["false_refusal"] for p in curve]
    y = [p["refusal_when_removed"] for p in curve]
    ax.plot(x, y, marker="o", markersize=3)
    for point in curve:
        if abs(point["threshold"] - chosen) < 1e-9:
            ax.annotate(
                f"min_relevance={chosen}",
                (point["false_refusal"], point["refusal_when_removed"]),
                fontsize=8,
            )
            ax.plot([point["false_refusal"]], [point["refusal_when_removed"]], "r*", markersize=12)
    ax.set_xlabel("false refusal rate (answerable questions)")
    ax.set_ylabel("refusal rate (supporting passage removed)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title("refusal trade-off by relevance threshold")
    return _save(fig, path)


def roc_curve(scores: Sequence[float], labels: Sequence[bool], path: Path, title: str) -> Path:
    pairs = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    positives = sum(labels) or 1
    negatives = (len(labels) - sum(labels)) or 1
    tp = fp = 0
    xs, ys = [0.0], [0.0]
    for _, label in pairs:
        tp += label
        fp += not label
        xs.append(fp / negatives)
        ys.append(tp / positives)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(xs, ys)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
