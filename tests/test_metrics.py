"""Classification and ranking metrics against scikit-learn and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import ndcg_score, top_k_accuracy_score

from amkit.train.metrics import classification_scores, save_confusion_matrix
from amkit.train.ranking import (
    hit_rate_at_k,
    mean_reciprocal_rank,
    ndcg_at_k,
    ranking_scores,
    target_ranks,
)


def _scores(n=200, c=30, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, c)), rng.integers(0, c, n)


@pytest.mark.parametrize("k", [1, 5, 10])
def test_hit_rate_and_ndcg_match_scikit_learn(k):
    scores, targets = _scores()
    labels = np.arange(scores.shape[1])
    assert hit_rate_at_k(scores, targets, k) == pytest.approx(
        top_k_accuracy_score(targets, scores, k=k, labels=labels)
    )
    relevance = np.eye(scores.shape[1])[targets]  # one relevant item per row
    assert ndcg_at_k(scores, targets, k) == pytest.approx(ndcg_score(relevance, scores, k=k))


def test_mrr_is_the_mean_reciprocal_rank_of_a_naive_loop():
    scores, targets = _scores(n=50)
    naive = []
    for row, target in zip(scores, targets, strict=True):
        order = sorted(range(len(row)), key=lambda j: -row[j])
        naive.append(1.0 / (order.index(target) + 1))
    assert mean_reciprocal_rank(scores, targets) == pytest.approx(np.mean(naive))
    cut = [r if r >= 1 / 10 else 0.0 for r in naive]
    assert mean_reciprocal_rank(scores, targets, k=10) == pytest.approx(np.mean(cut))


def test_ties_count_for_the_target_and_shapes_are_checked():
    assert target_ranks([[0.5, 0.5, 0.1]], [1]).tolist() == [1]
    assert ranking_scores([[0.1, 0.9, 0.5]], [2], ks=(1,)) == {
        "hr@1": 0.0, "ndcg@1": 0.0, "mrr": 0.5
    }  # fmt: skip
    with pytest.raises(ValueError, match="scores must be"):
        target_ranks([0.1, 0.2], [0])


def test_micro_f1_equals_accuracy_for_one_label_per_example():
    scores = classification_scores([0, 1, 2, 2, 1], [0, 2, 2, 2, 0])
    assert scores["accuracy"] == pytest.approx(0.6)
    assert scores["f1_micro"] == pytest.approx(0.6)


def test_confusion_matrix_png_and_its_class_limit(tmp_path):
    png = save_confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"], tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    many = np.arange(50)
    assert save_confusion_matrix(many, many, [], tmp_path / "d.png") is None
