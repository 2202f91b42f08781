"""The Fréchet distance between two Gaussians, the measure behind FID (Heusel et al. 2017).

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))

amkit computes it on the features of its own trained image classifier (no Inception
weights are used or downloaded), so the numbers are comparable between amkit runs only.

Legend: N samples, D feature width.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from amkit.errors import UserError

__all__ = ["feature_statistics", "frechet_distance"]


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (D,), covariance (D, D))`` of ``features`` ``(N, D)``, N >= 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise UserError(f"features must be (N >= 2, D), got shape {features.shape}")
    return features.mean(0), np.cov(features, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray, eps: float = 1e-6
) -> float:
    """The squared Fréchet distance between ``N(mu1, cov1)`` and ``N(mu2, cov2)``.

    The matrix square root is scipy's ``sqrtm``; when it is not finite (a singular product)
    ``eps`` is added to both diagonals first, and a tiny imaginary part from rounding is
    dropped (as the reference FID code does)."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != (len(mu1),) * 2:
        raise UserError(
            f"frechet_distance: means {mu1.shape}, {mu2.shape} and covariances {cov1.shape}, "
            f"{cov2.shape} must be (D,) and (D, D) alike"
        )
    root = linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(root).all():
        offset = np.eye(len(mu1)) * eps
        root = linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    root = np.real(root)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(root))
