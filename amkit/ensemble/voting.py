"""Soft and hard voting over models' probabilities (nothing is learned)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from amkit.ensemble.base import ProbabilityEnsemble, check_probabilities, check_targets
from amkit.errors import UserError


class Voting(ProbabilityEnsemble):
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
            check_targets(y, P)
        if self.voting not in ("soft", "hard"):
            raise UserError(f"voting: expected 'soft' or 'hard', got {self.voting!r}")
        weights = np.ones(P.shape[0]) if self.weights is None else np.asarray(self.weights, float)
        if weights.shape != (P.shape[0],) or (weights < 0).any() or weights.sum() <= 0:
            raise UserError(
                f"weights: expected {P.shape[0]} non-negative numbers with a positive sum, "
                f"got {self.weights!r}"
            )
        self._remember_shape(P)
        self.weights_ = weights / weights.sum()
        return self

    def predict_proba(self, P: np.ndarray) -> np.ndarray:
        P = self._check_fitted_shape(P)
        if self.voting == "soft":
            return np.tensordot(self.weights_.astype(P.dtype), P, axes=1)
        shares = np.zeros(P.shape[1:])  # (N, C): each class's share of the weighted votes
        rows = np.arange(P.shape[1])
        for weight, top in zip(self.weights_, P.argmax(-1), strict=True):  # top: (N,)
            np.add.at(shares, (rows, top), weight)
        return shares
