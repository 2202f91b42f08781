"""Ranking metrics for recommendation and knowledge-base question answering.

Every function takes ``scores (N, C)`` (higher = better) and ``targets (N,)`` -- the index of
each row's one relevant item -- and ranks the target as 1 + the number of items scoring
strictly higher (ties count in the target's favour). Candidate sets, e.g. SASRec's target
plus 100 sampled negatives, are a ``scores`` matrix over just those candidates.
"""

from __future__ import annotations

import numpy as np
import torch

from amkit.errors import UserError


def target_ranks(scores, targets) -> np.ndarray:
    """``(N,)`` 1-based rank of each row's target among its row's scores."""
    scores = torch.as_tensor(np.asarray(scores), dtype=torch.float64)
    targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    if scores.dim() != 2 or targets.shape != (scores.shape[0],):
        raise UserError(
            f"scores must be (N, C) and targets (N,), got {tuple(scores.shape)} and "
            f"{tuple(targets.shape)}"
        )
    target_scores = scores.gather(1, targets.unsqueeze(1))  # (N, 1)
    return ((scores > target_scores).sum(1) + 1).numpy()


def hit_rate_at_k(scores, targets, k: int = 10) -> float:
    """HR@K: the share of rows whose target ranks in the top ``k``."""
    return float((target_ranks(scores, targets) <= k).mean())


def ndcg_at_k(scores, targets, k: int = 10) -> float:
    """NDCG@K with one relevant item: ``1 / log2(rank + 1)`` inside the top ``k``, else 0."""
    ranks = target_ranks(scores, targets)
    return float(np.where(ranks <= k, 1.0 / np.log2(ranks + 1), 0.0).mean())


def mean_reciprocal_rank(scores, targets, k: int | None = None) -> float:
    """MRR: the mean of ``1 / rank`` (0 beyond ``k`` when ``k`` is given)."""
    ranks = target_ranks(scores, targets).astype(np.float64)
    reciprocal = 1.0 / ranks
    if k is not None:
        reciprocal = np.where(ranks <= k, reciprocal, 0.0)
    return float(reciprocal.mean())


def ranking_scores(scores, targets, ks=(1, 10)) -> dict[str, float]:
    """``{"hr@K", "ndcg@K" for K in ks, "mrr"}`` in one pass."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"hr@{k}"] = hit_rate_at_k(scores, targets, k)
        out[f"ndcg@{k}"] = ndcg_at_k(scores, targets, k)
    out["mrr"] = mean_reciprocal_rank(scores, targets)
    return out


def full_ranks(
    scores: torch.Tensor, target_items: torch.Tensor, exclude: torch.Tensor
) -> torch.Tensor:
    """1-based rank of each target among *all* items, the user's history left out.

    Args:
        scores: ``(B, I + 1)`` a score per item id; column 0 is padding (never ranked).
        target_items: ``(B,)`` the held-out item of each row.
        exclude: ``(B, E)`` item ids the user interacted with (0 = padding); they are not
            ranked, unless one of them is the target.

    Returns:
        ``(B,)`` ranks; ties count in the target's favour, as :func:`target_ranks`.
    """
    scores = scores.float().clone()
    target_scores = scores.gather(1, target_items.long().unsqueeze(1))  # (B, 1)
    scores.scatter_(1, exclude.long(), float("-inf"))
    scores[:, 0] = float("-inf")
    return (scores > target_scores).sum(1) + 1


def scores_from_ranks(ranks, ks=(10,), prefix: str = "") -> dict[str, float]:
    """``{prefix + "hr@K", prefix + "ndcg@K"}`` from 1-based ranks."""
    ranks = np.asarray(ranks, dtype=np.float64)
    out = {}
    for k in ks:
        out[f"{prefix}hr@{k}"] = float((ranks <= k).mean())
        out[f"{prefix}ndcg@{k}"] = float(np.where(ranks <= k, 1.0 / np.log2(ranks + 1), 0.0).mean())
    return out
