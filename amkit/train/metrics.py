"""Evaluation of a classifier-style model over a dataset split."""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import nn

from amkit.data.base import TensorDictDataset, iterate_batches, model_inputs


@torch.no_grad()
def evaluate(model: nn.Module, dataset: TensorDictDataset, batch_size: int = 256) -> dict:
    """Loss and accuracy over *every* example of ``dataset``.

    Returns ``{"loss", "accuracy", "n"}``; when the data has a ``meta_task`` column also
    ``"per_task": {task: {"accuracy", "n"}}``.
    """
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    task_correct: dict[int, int] = defaultdict(int)
    task_count: dict[int, int] = defaultdict(int)
    for batch in iterate_batches(dataset, batch_size):
        out = model(**model_inputs(batch))
        n = len(batch["targets"])
        if out.loss is not None:
            total_loss += out.loss.item() * n
        hits = out.logits.argmax(dim=-1) == batch["targets"]
        correct += int(hits.sum())
        count += n
        if "meta_task" in batch:
            for task, hit in zip(batch["meta_task"].tolist(), hits.tolist(), strict=True):
                task_correct[task] += int(hit)
                task_count[task] += 1
    model.train(was_training)
    if count == 0:
        raise ValueError("cannot evaluate on an empty split")
    result = {"loss": total_loss / count, "accuracy": correct / count, "n": count}
    if task_count:
        result["per_task"] = {
            str(t): {"accuracy": task_correct[t] / task_count[t], "n": task_count[t]}
            for t in sorted(task_count)
        }
    return result
