"""Attention heat maps as PNG files (matplotlib, no screen needed).

Legend: T rows (queries, hops or heads), S columns (keys, tokens or memory slots).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from amkit.errors import UserError
from amkit.io import atomic_save_figure  # noqa: E402

_FONT = 9  # points: tick labels
_CHAR_IN = 0.6 * _FONT / 72  # inches an average character of that font takes
_CELL_IN = 0.45  # inches per column


def fit_title(title: str, width_in: float, fontsize: float = _FONT + 1) -> str:
    """``title`` wrapped into lines that fit a figure ``width_in`` inches wide (at most
    three; a longer one ends with an ellipsis)."""
    per_line = max(10, int((width_in - 0.5) / (0.7 * fontsize / 72)))
    lines = textwrap.wrap(title, per_line) or [""]
    if len(lines) > 3:
        lines = [*lines[:2], lines[2][: per_line - 1] + "…"]
    return "\n".join(lines)


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
    x_text = [str(x) for x in (x_labels if x_labels is not None else range(cols))]
    y_text = [str(y) for y in (y_labels if y_labels is not None else range(rows))]
    # the figure is sized from its labels: the y labels' width beside the cells, x labels
    # turned upright when they are wider than a cell, so none is cut or printed over another
    x_chars = max((len(x) for x in x_text), default=1)
    y_chars = max((len(y) for y in y_text), default=1)
    upright = x_chars * _CHAR_IN > 0.8 * _CELL_IN
    width = max(4.0, cols * _CELL_IN + y_chars * _CHAR_IN + 1.6)
    height = max(2.0, rows * 0.4 + 1.4 + (x_chars * _CHAR_IN if upright else 0.0))
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    image = ax.imshow(w, cmap="viridis", aspect="auto", vmin=0.0, vmax=max(1e-9, w.max()))
    ax.set_xticks(range(cols), labels=x_text, rotation=90 if upright else 0, fontsize=_FONT)
    ax.set_yticks(range(rows), labels=y_text, fontsize=_FONT)
    if annotate and rows * cols <= 400:
        for i in range(rows):
            for j in range(cols):
                color = "black" if w[i, j] > 0.6 * w.max() else "white"
                ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center", fontsize=7, color=color)
    if title:
        fig.suptitle(fit_title(title, width), fontsize=_FONT + 1)  # centred on the figure
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return atomic_save_figure(fig, path)
