"""Stacking: a meta-learner over models' probabilities, as scikit-learn's StackingClassifier."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression

from amkit.ensemble.base import ProbabilityEnsemble, check_probabilities, check_targets


def stacking_features(P: np.ndarray) -> np.ndarray:
    """``(N, F)`` meta-features as scikit-learn's ``StackingClassifier`` builds them from
    ``predict_proba``: each model's positive-class column for two classes (``F = M``),
    every column otherwise (``F = M * C``)."""
    P = check_probabilities(P)
    if P.shape[2] == 2:
        return P[:, :, 1].T
    return P.transpose(1, 0, 2).reshape(P.shape[1], -1)


class Stacking(ProbabilityEnsemble):
    """A meta-learner (default: scikit-learn ``LogisticRegression()``) over the models'
    probabilities (:func:`stacking_features`). Equals ``StackingClassifier(cv="prefit",
    stack_method="predict_proba")`` over the same trained models. Fit it on validation
    predictions; ``amkit ensemble`` scores it on validation by cross-validation."""

    def __init__(self, final_estimator: BaseEstimator | None = None):
        self.final_estimator = final_estimator

    def fit(self, P: np.ndarray, y: np.ndarray) -> Stacking:
        P = check_probabilities(P)
        y = check_targets(y, P)
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
