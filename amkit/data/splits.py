"""Seeded, stratified splits through scikit-learn, for datasets that come without them.

    train, val, test = stratified_split(labels, fractions=(0.8, 0.1, 0.1), seed=0)
    for fit, held_out in kfold_splits(labels, k=5, seed=0): ...

Indices are sorted int64 arrays into ``labels``; every class keeps its share in every part
(up to rounding), and the same seed gives the same split on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from amkit.errors import UserError


def _labels(labels: Sequence) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise UserError(f"labels must be a non-empty 1-D sequence, got shape {labels.shape}")
    return labels


def stratified_split(
    labels: Sequence, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Disjoint parts covering every example, one per fraction (they must sum to 1)."""
    labels = _labels(labels)
    fractions = [float(f) for f in fractions]
    if len(fractions) < 2 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise UserError(f"fractions must be >= 2 positive numbers summing to 1, got {fractions}")
    parts, rest = [], np.arange(len(labels))
    remaining = 1.0
    for i, fraction in enumerate(fractions[:-1]):
        take, rest = train_test_split(
            rest,
            train_size=fraction / remaining,
            stratify=labels[rest],
            random_state=seed + i,
        )
        parts.append(np.sort(take))
        remaining -= fraction
    parts.append(np.sort(rest))
    return tuple(parts)


def kfold_splits(
    labels: Sequence, k: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` stratified ``(fit, held_out)`` folds; every example is held out exactly once."""
    labels = _labels(labels)
    if k < 2:
        raise UserError(f"k must be >= 2, got {k}")
    folds = StratifiedKFold(k, shuffle=True, random_state=seed)
    return [(np.sort(a), np.sort(b)) for a, b in folds.split(np.zeros(len(labels)), labels)]
