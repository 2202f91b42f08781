"""Scores of a link-scoring task: AUC-PR as the Countries evaluation of Neural Theorem
Provers computes it.

Legend: Q queries, C candidate answers per query.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from amkit.errors import UserError


def auc_pr(scores: Tensor | np.ndarray, targets: Tensor | np.ndarray) -> float:
    """Area under the precision-recall curve over every (query, candidate) pair.

    As in ``ntp/experiments/eval.py`` of uclnlp/ntp (Rocktäschel & Riedel 2017): every
    test country is scored against each of the 5 regions, the ``Q x C`` scores and their
    0/1 labels are flattened into one list, and the area is scikit-learn's
    :func:`sklearn.metrics.average_precision_score` of that list (step-wise average
    precision, not a trapezoid).

    Args:
        scores: ``(Q, C)`` a score per query and candidate (higher = more likely true).
        targets: ``(Q,)`` the index of each query's true candidate.

    Returns:
        The AUC-PR in [0, 1].
    """
    from sklearn.metrics import average_precision_score

    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if scores.ndim != 2 or targets.shape != (scores.shape[0],) or not len(scores):
        raise UserError(
            f"auc_pr: scores must be (Q, C) and targets (Q,), got {scores.shape} and "
            f"{targets.shape}"
        )
    labels = np.zeros_like(scores, dtype=np.int64)
    labels[np.arange(len(targets)), targets] = 1
    return float(average_precision_score(labels.ravel(), scores.ravel()))
