"""Fusion of trained models' class probabilities: weighted average, voting, stacking.

The estimators follow scikit-learn's API (``fit`` returns ``self``, fitted attributes end
in ``_``, ``clone`` and ``get_params`` work) but their input is not a feature matrix: it is
``P`` of shape ``(M, N, C)``, the class probabilities of M trained models for N examples.

    ensemble = WeightedAverage().fit(P_val, y_val)     # weights on the simplex
    ensemble.weights_                                  # (M,), >= 0, sum to 1
    ensemble.predict_proba(P_test)                     # (N, C)

Fit them on validation predictions, never on test.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression

_EPS = 1e-12


def check_probabilities(P: np.ndarray, name: str = "P") -> np.ndarray:
    """``P`` as a float64 ``(M, N, C)`` array whose rows are probability distributions."""
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 3:
        raise ValueError(f"{name}: expected (models, examples, classes), got shape {P.shape}")
    if P.shape[0] == 0 or P.shape[1] == 0 or P.shape[2] < 2:
        raise ValueError(f"{name}: needs >= 1 model, >= 1 example and >= 2 classes, got {P.shape}")
    if not np.isfinite(P).all() or (P < 0).any():
        raise ValueError(f"{name}: probabilities must be finite and >= 0")
    row_sums = P.sum(-1)
    bad = np.argwhere(np.abs(row_sums - 1) > 1e-3)
    if len(bad):
        m, i = bad[0]
        raise ValueError(
            f"{name}: model {m}, example {i}: probabilities sum to {row_sums[m, i]:.4f}, not 1"
        )
    return P


def _check_targets(y: np.ndarray, P: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (P.shape[1],):
        raise ValueError(f"y: expected shape ({P.shape[1]},) to match P, got {y.shape}")
    if y.min() < 0 or y.max() >= P.shape[2]:
        raise ValueError(f"y: class ids must be in [0, {P.shape[2]}), got {y.min()}..{y.max()}")
    return y.astype(np.int64)


class _ProbabilityEnsemble(ClassifierMixin, BaseEstimator):
    """Shared ``predict``: the most probable class of ``predict_proba`` (ties: lowest id)."""

    def _remember_shape(self, P: np.ndarray) -> None:
        self.n_models_, _, self.n_classes_ = P.shape
        self.classes_ = np.arange(self.n_classes_)

    def _check_fitted_shape(self, P: np.ndarray) -> np.ndarray:
        P = check_probabilities(P)
        if (P.shape[0], P.shape[2]) != (self.n_models_, self.n_classes_):
            raise ValueError(
                f"fitted on {self.n_models_} models x {self.n_classes_} classes, "
                f"got {P.shape[0]} models x {P.shape[2]} classes"
            )
        return P

    def predict(self, P: np.ndarray) -> np.ndarray:
        """``(N,)`` class ids."""
        return self.predict_proba(P).argmax(-1)


class WeightedAverage(_ProbabilityEnsemble):
    """``sum_m w_m P_m`` with ``w`` on the simplex (``w >= 0``, ``sum w = 1``), chosen to
    minimise the log loss of the targets it is fit on (SLSQP from the uniform start)."""

    def fit(self, P: np.ndarray, y: np.ndarray) -> WeightedAverage:
        P = check_probabilities(P)
        y = _check_targets(y, P)
        self._remember_shape(P)
        n_models = P.shape[0]
        target_probs = P[:, np.arange(P.shape[1]), y]  # (M, N): each model's p(true class)

        def loss_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
            mixed = np.maximum(w @ target_probs, _EPS)  # (N,)
            return -np.log(mixed).mean(), -(target_probs / mixed).mean(1)

        start = np.full(n_models, 1.0 / n_models)
        if n_models == 1:
            weights = start
        else:
            result = minimize(
                loss_and_grad,
                start,
                jac=True,
                method="SLSQP",
                bounds=[(0.0, 1.0)] * n_models,
                constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
            )
            weights = np.clip(result.x, 0.0, None)
            weights = weights / weights.sum()
        self.weights_ = weights
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        """``(N, C)``: the weighted average of the models' probabilities."""
        P = self._check_fitted_shape(P)
        return np.tensordot(self.weights_, P, axes=1)


class Voting(_ProbabilityEnsemble):
    """Soft voting averages the probabilities; hard voting counts each model's top class.

    ``weights`` (optional, one per model) scale each model's probabilities or vote. For hard
    voting ``predict_proba`` is each class's share of the (weighted) votes and ties go to the
    lowest class id, as in scikit-learn's ``VotingClassifier``. Nothing is learned: ``fit``
    only checks the inputs.
    """

    def __init__(
        self,
        voting: Literal["soft", "hard"] = "soft",
        weights: list[float] | np.ndarray | None = None,
    ):
        self.voting = voting
        self.weights = weights

    def fit(self, P: np.ndarray, y: np.ndarray | None = None) -> Voting:
        P = check_probabilities(P)
        if y is not None:
            _check_targets(y, P)
        if self.voting not in ("soft", "hard"):
            raise ValueError(f"voting: expected 'soft' or 'hard', got {self.voting!r}")
        weights = np.ones(P.shape[0]) if self.weights is None else np.asarray(self.weights, float)
        if weights.shape != (P.shape[0],) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(
                f"weights: expected {P.shape[0]} non-negative numbers with a positive sum, "
                f"got {self.weights!r}"
            )
        self._remember_shape(P)
        self.weights_ = weights / weights.sum()
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        P = self._check_fitted_shape(P)
        if self.voting == "soft":
            return np.tensordot(self.weights_, P, axes=1)
        votes = np.eye(self.n_classes_)[P.argmax(-1)]  # (M, N, C) one-hot top class
        return np.tensordot(self.weights_, votes, axes=1)


def stacking_features(P: np.ndarray) -> np.ndarray:
    """``(N, F)`` meta-features as scikit-learn's ``StackingClassifier`` builds them from
    ``predict_proba``: each model's positive-class column for two classes (``F = M``),
    every column otherwise (``F = M * C``)."""
    P = check_probabilities(P)
    if P.shape[2] == 2:
        return P[:, :, 1].T
    return P.transpose(1, 0, 2).reshape(P.shape[1], -1)


class Stacking(_ProbabilityEnsemble):
    """A meta-learner (default: scikit-learn ``LogisticRegression()``) over the models'
    probabilities (:func:`stacking_features`). Equals ``StackingClassifier(cv="prefit",
    stack_method="predict_proba")`` over the same trained models. Fit it on validation
    predictions; ``amkit ensemble`` scores it on validation by cross-validation."""

    def __init__(self, final_estimator: BaseEstimator | None = None):
        self.final_estimator = final_estimator

    def fit(self, P: np.ndarray, y: np.ndarray) -> Stacking:
        P = check_probabilities(P)
        y = _check_targets(y, P)
        self._remember_shape(P)
        meta = self.final_estimator if self.final_estimator is not None else LogisticRegression()
        self.final_estimator_ = clone(meta).fit(stacking_features(P), y)
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        """``(N, C)``; classes never seen in ``fit`` get probability 0."""
        P = self._check_fitted_shape(P)
        seen = self.final_estimator_.predict_proba(stacking_features(P))
        out = np.zeros((P.shape[1], self.n_classes_))
        out[:, self.final_estimator_.classes_] = seen
        return out


METHODS = {"weighted": WeightedAverage, "voting": Voting, "stacking": Stacking}
