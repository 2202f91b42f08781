"""Evaluation of a classifier-style model over a dataset split."""

from __future__ import annotations

from collections import defaultdict

import torch
from sklearn.metrics import precision_recall_fscore_support
from torch import nn

from amkit.data.base import TensorDictDataset, iterate_batches, model_inputs


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
    total_loss, correct, count = 0.0, 0, 0
    all_targets, all_predictions, all_probabilities = [], [], []
    task_correct: dict[int, int] = defaultdict(int)
    task_count: dict[int, int] = defaultdict(int)
    for batch in iterate_batches(dataset, batch_size):
        out = model(**model_inputs(batch))
        n = len(batch["targets"])
        if out.loss is not None:
            total_loss += out.loss.item() * n
        predictions = out.logits.argmax(dim=-1)
        if return_probabilities:
            all_probabilities.append(out.logits.float().softmax(-1))
        hits = predictions == batch["targets"]
        all_targets.append(batch["targets"])
        all_predictions.append(predictions)
        correct += int(hits.sum())
        count += n
        if "meta_task" in batch:
            for task, hit in zip(batch["meta_task"].tolist(), hits.tolist(), strict=True):
                task_correct[task] += int(hit)
                task_count[task] += 1
    model.train(was_training)
    if count == 0:
        raise ValueError("cannot evaluate on an empty split")
    precision, recall, f1, _ = precision_recall_fscore_support(
        torch.cat(all_targets).numpy(),
        torch.cat(all_predictions).numpy(),
        average="macro",
        zero_division=0,
    )
    result = {
        "loss": total_loss / count,
        "accuracy": correct / count,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "n": count,
    }
    if task_count:
        result["per_task"] = {
            str(t): {"accuracy": task_correct[t] / task_count[t], "n": task_count[t]}
            for t in sorted(task_count)
        }
    if return_probabilities:
        return result, torch.cat(all_probabilities)
    return result
