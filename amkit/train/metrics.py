"""Evaluation of a classifier-style model over a dataset split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.metrics import precision_recall_fscore_support
from torch import nn

from amkit.data.base import TensorDictDataset, iterate_batches, model_inputs


def classification_scores(
    targets: Sequence[int] | np.ndarray | torch.Tensor,
    predictions: Sequence[int] | np.ndarray | torch.Tensor,
    tasks: Sequence[int] | np.ndarray | torch.Tensor | None = None,
) -> dict:
    """``{"accuracy", "precision", "recall", "f1", "n"}`` of ``(N,)`` predicted class ids;
    precision, recall and F1 macro-averaged over the classes that occur in the targets or
    the predictions (scikit-learn). With ``tasks`` ``(N,)`` also ``"per_task": {task:
    {"accuracy", "n"}}``."""
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    if len(targets) == 0:
        raise ValueError("cannot score an empty split")
    precision, recall, f1, _ = precision_recall_fscore_support(
        targets, predictions, average="macro", zero_division=0
    )
    hits = targets == predictions
    result = {
        "accuracy": float(hits.mean()),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "n": len(targets),
    }
    if tasks is not None:
        tasks = np.asarray(tasks)
        result["per_task"] = {
            str(t): {"accuracy": float(hits[tasks == t].mean()), "n": int((tasks == t).sum())}
            for t in sorted(set(tasks.tolist()))
        }
    return result


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: TensorDictDataset,
    batch_size: int = 256,
    return_probabilities: bool = False,
) -> dict | tuple[dict, torch.Tensor]:
    """Loss and accuracy over *every* example of ``dataset``.

    Returns ``{"loss", "accuracy", "precision", "recall", "f1", "n"}`` -- precision, recall
    and F1 macro-averaged over the classes that occur in the targets or the predictions
    (scikit-learn); when the data has a ``meta_task`` column also
    ``"per_task": {task: {"accuracy", "n"}}``. With ``return_probabilities`` also the
    ``(N, C)`` softmax of every example, in dataset order (for ensembles).
    """
    was_training = model.training
    model.eval()
    total_loss = 0.0
    all_targets, all_predictions, all_probabilities, all_tasks = [], [], [], []
    for batch in iterate_batches(dataset, batch_size):
        out = model(**model_inputs(batch))
        if out.loss is not None:
            total_loss += out.loss.item() * len(batch["targets"])
        all_predictions.append(out.logits.argmax(dim=-1))
        if return_probabilities:
            all_probabilities.append(out.logits.float().softmax(-1))
        all_targets.append(batch["targets"])
        if "meta_task" in batch:
            all_tasks.append(batch["meta_task"])
    model.train(was_training)
    if not all_targets:
        raise ValueError("cannot evaluate on an empty split")
    scores = classification_scores(
        torch.cat(all_targets),
        torch.cat(all_predictions),
        torch.cat(all_tasks) if all_tasks else None,
    )
    result = {"loss": total_loss / scores["n"], **scores}
    if return_probabilities:
        return result, torch.cat(all_probabilities)
    return result
