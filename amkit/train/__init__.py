"""Training: the :class:`Trainer` and its :class:`TrainConfig`, evaluation metrics, ranking
metrics, the Fréchet distance, pickle-free checkpoints, precision and data-parallel helpers."""

from amkit.train.checkpoint import load_model, save_model
from amkit.train.frechet import feature_statistics, frechet_distance
from amkit.train.metrics import classification_scores, evaluate
from amkit.train.ranking import hit_rate_at_k, mean_reciprocal_rank, ndcg_at_k, ranking_scores
from amkit.train.trainer import TrainConfig, Trainer

__all__ = [
    "TrainConfig",
    "Trainer",
    "classification_scores",
    "evaluate",
    "feature_statistics",
    "frechet_distance",
    "hit_rate_at_k",
    "load_model",
    "mean_reciprocal_rank",
    "ndcg_at_k",
    "ranking_scores",
    "save_model",
]
