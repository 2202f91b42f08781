"""Weighted average of models' probabilities with weights on the simplex, fit on validation.

ensemble = WeightedAverage().fit(P_val, y_val)     # P: (M, N, C)
ensemble.weights_                                  # (M,), >= 0, sum to 1
ensemble.predict_proba(P_test)                     # (N, C)
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from amkit.ensemble.base import ProbabilityEnsemble, check_probabilities, check_targets

_EPS = 1e-12


class WeightedAverage(ProbabilityEnsemble):
    """``sum_m w_m P_m`` with ``w`` on the simplex (``w >= 0``, ``sum w = 1``), chosen to
    minimise the log loss of the targets it is fit on (SLSQP from the uniform start)."""

    def fit(self, P: np.ndarray, y: np.ndarray) -> WeightedAverage:
        P = check_probabilities(P)
        y = check_targets(y, P)
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
        return np.tensordot(self.weights_.astype(P.dtype), P, axes=1)  # float32 stays float32
