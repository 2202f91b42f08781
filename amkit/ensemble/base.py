"""What the probability ensembles share: input checks and ``predict``.

Every estimator takes ``P`` of shape ``(M, N, C)``, the class probabilities of M trained
models for N examples, and follows scikit-learn's API (``fit`` returns ``self``, fitted
attributes end in ``_``, ``clone`` and ``get_params`` work). Fit them on validation
predictions, never on test.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from amkit.errors import UserError


def check_probabilities(P: np.ndarray, name: str = "P") -> np.ndarray:
    """``P`` as a float ``(M, N, C)`` array whose rows are probability distributions (float32
    stays float32: thousands of classes, such as a graph's entities, take gigabytes)."""
    P = np.asarray(P)
    if P.dtype not in (np.float32, np.float64):
        P = P.astype(np.float64)
    if P.ndim != 3:
        raise UserError(f"{name}: expected (models, examples, classes), got shape {P.shape}")
    if P.shape[0] == 0 or P.shape[1] == 0 or P.shape[2] < 2:
        raise UserError(f"{name}: needs >= 1 model, >= 1 example and >= 2 classes, got {P.shape}")
    if not np.isfinite(P).all() or (P < 0).any():
        raise UserError(f"{name}: probabilities must be finite and >= 0")
    row_sums = P.sum(-1, dtype=np.float64)
    bad = np.argwhere(np.abs(row_sums - 1) > 1e-3)
    if len(bad):
        m, i = bad[0]
        raise UserError(
            f"{name}: model {m}, example {i}: probabilities sum to {row_sums[m, i]:.4f}, not 1"
        )
    return P


def check_targets(y: np.ndarray, P: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (P.shape[1],):
        raise UserError(f"y: expected shape ({P.shape[1]},) to match P, got {y.shape}")
    if y.min() < 0 or y.max() >= P.shape[2]:
        raise UserError(f"y: class ids must be in [0, {P.shape[2]}), got {y.min()}..{y.max()}")
    return y.astype(np.int64)


class ProbabilityEnsemble(ClassifierMixin, BaseEstimator):
    """Shared ``predict``: the most probable class of ``predict_proba`` (ties: lowest id)."""

    def _remember_shape(self, P: np.ndarray) -> None:
        self.n_models_, _, self.n_classes_ = P.shape
        self.classes_ = np.arange(self.n_classes_)

    def _check_fitted_shape(self, P: np.ndarray) -> np.ndarray:
        P = check_probabilities(P)
        if (P.shape[0], P.shape[2]) != (self.n_models_, self.n_classes_):
            raise UserError(
                f"fitted on {self.n_models_} models x {self.n_classes_} classes, "
                f"got {P.shape[0]} models x {P.shape[2]} classes"
            )
        return P

    def predict(self, P: np.ndarray) -> np.ndarray:
        """``(N,)`` class ids."""
        return self.predict_proba(P).argmax(-1)
