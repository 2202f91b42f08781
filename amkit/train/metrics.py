"""Evaluation of a classifier-style model over a dataset split."""

from __future__ import annotations

import torch
from torch import nn

from amkit.data.base import TensorDictDataset, iterate_batches


@torch.no_grad()
def evaluate(model: nn.Module, dataset: TensorDictDataset, batch_size: int = 256) -> dict:
    """Loss and accuracy over *every* example of ``dataset``.

    Returns ``{"loss": float, "accuracy": float, "n": int}``.
    """
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for batch in iterate_batches(dataset, batch_size):
        out = model(**batch)
        n = len(batch["targets"])
        if out.loss is not None:
            total_loss += out.loss.item() * n
        correct += int((out.logits.argmax(dim=-1) == batch["targets"]).sum())
        count += n
    model.train(was_training)
    if count == 0:
        raise ValueError("cannot evaluate on an empty split")
    return {"loss": total_loss / count, "accuracy": correct / count, "n": count}
