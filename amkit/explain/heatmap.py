"""Attention heat maps as PNG files (matplotlib, no screen needed).

Legend: T rows (queries, hops or heads), S columns (keys, tokens or memory slots).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from amkit.errors import UserError
from amkit.io import atomic_save_figure  # noqa: E402


def save_heatmap(
    weights: np.ndarray | Sequence[Sequence[float]],
    path: str | Path,
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    title: str | None = None,
    annotate: bool = True,
) -> Path:
    """Save ``weights`` ``(T, S)`` (or ``(S,)``, drawn as one row) as a PNG heat map.

    Labels go on the axes; with ``annotate`` each cell shows its weight to two decimals
    when the map is small enough to read. Written atomically.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim == 1:
        w = w[None, :]
    if w.ndim != 2:
        raise UserError(f"weights must be 1-D or 2-D, got shape {w.shape}")
    rows, cols = w.shape
    if x_labels is not None and len(x_labels) != cols:
        raise UserError(f"{len(x_labels)} x_labels for {cols} columns")
    if y_labels is not None and len(y_labels) != rows:
        raise UserError(f"{len(y_labels)} y_labels for {rows} rows")
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * cols + 1.5), max(1.8, 0.45 * rows + 1.2)))
    image = ax.imshow(w, cmap="viridis", aspect="auto", vmin=0.0, vmax=max(1e-9, w.max()))
    ax.set_xticks(range(cols), labels=x_labels if x_labels is not None else range(cols))
    ax.set_yticks(range(rows), labels=y_labels if y_labels is not None else range(rows))
    if annotate and rows * cols <= 400:
        for i in range(rows):
            for j in range(cols):
                color = "black" if w[i, j] > 0.6 * w.max() else "white"
                ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center", fontsize=7, color=color)
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return atomic_save_figure(fig, path)
