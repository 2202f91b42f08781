"""Evaluation of a classifier-style model over a dataset split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, precision_recall_fscore_support
from torch import nn

from amkit.data.base import TensorDictDataset, iterate_batches, model_inputs
from amkit.errors import UserError
from amkit.models.base import ModelOutput
from amkit.models.hooks import ExtraMetricsHook, ScoreItemsHook
from amkit.train.device import model_device, to_device
from amkit.train.ranking import full_ranks, ranking_scores, scores_from_ranks


def classification_scores(
    targets: Sequence[int] | np.ndarray | torch.Tensor,
    predictions: Sequence[int] | np.ndarray | torch.Tensor,
    tasks: Sequence[int] | np.ndarray | torch.Tensor | None = None,
) -> dict:
    """``{"accuracy", "precision", "recall", "f1", "f1_micro", "n"}`` of ``(N,)`` predicted
    class ids; precision, recall and F1 macro-averaged over the classes that occur in the
    targets or the predictions, and micro-averaged F1 (scikit-learn; for one label per
    example micro precision, recall and F1 all equal the accuracy). With ``tasks`` ``(N,)``
    also ``"per_task": {task: {"accuracy", "n"}}``."""
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    if len(targets) == 0:
        raise UserError("cannot score an empty split")
    precision, recall, f1, _ = precision_recall_fscore_support(
        targets, predictions, average="macro", zero_division=0
    )
    f1_micro = f1_score(targets, predictions, average="micro", zero_division=0)
    hits = targets == predictions
    result = {
        "accuracy": float(hits.mean()),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "f1_micro": float(f1_micro),
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
    full_ranking: bool = True,
) -> dict | tuple[dict, torch.Tensor]:
    """Loss and accuracy over *every* example of ``dataset``.

    Returns ``{"loss", "accuracy", "precision", "recall", "f1", "n"}`` -- precision, recall
    and F1 macro-averaged over the classes that occur in the targets or the predictions
    (scikit-learn); when the data has a ``meta_task`` column also
    ``"per_task": {task: {"accuracy", "n"}}``; when it has ``candidates`` (ranking data, the
    target's index in ``targets``) also ``hr@1``, ``ndcg@1``, ``hr@10``, ``ndcg@10`` and
    ``mrr`` (:mod:`amkit.train.ranking`), and, when the model has ``score_items`` and the data
    the users' histories (``meta_exclude``), ``full_hr@10`` / ``full_ndcg@10`` over all
    items, the history left out (the sampled candidates are then scored as columns of
    ``score_items``, which must agree with the model's own candidate scores;
    ``full_ranking=False`` skips them: ranking every item is the costly part). Models with a
    prediction per position (``logits (B, T, V)``, targets padded with 0) are scored on their
    real tokens; a model's ``extra_metrics(dataset, batch_size)`` adds its own (a translation
    model's BLEU). A forecasting dataset (``dataset.task == "forecasting"``) is scored by
    :func:`amkit.train.forecasting.evaluate_forecasts` instead (``mse``, ``mae``; no
    probabilities). With ``return_probabilities`` also the
    ``(N, C)`` softmax of every example, in dataset order (for ensembles).
    """
    if getattr(dataset, "task", None) == "forecasting":  # windows of a series: MSE and MAE
        from amkit.train.forecasting import evaluate_forecasts

        result = evaluate_forecasts(model, dataset, batch_size)
        return (result, None) if return_probabilities else result
    was_training = model.training
    model.eval()
    total_loss = 0.0
    all_targets, all_predictions, all_probabilities, all_tasks = [], [], [], []
    ranked = "candidates" in dataset.tensors  # candidate lists, target first: ranking metrics
    all_logits = []
    full = (
        full_ranking
        and ranked
        and "meta_exclude" in dataset.tensors
        and isinstance(model, ScoreItemsHook)
    )
    all_full_ranks = []
    device = model_device(model)  # the batches go where the model is; results come back
    for cpu_batch in iterate_batches(dataset, batch_size):
        batch = to_device(cpu_batch, device)
        if full:  # one encoding per batch: the candidates' scores are columns of all items'
            every = model.score_items(batch["seq"], batch.get("user"))  # (B, I + 1)
            all_full_ranks.append(
                full_ranks(every, batch["candidates"][:, 0], batch["meta_exclude"]).cpu()
            )
            logits = every.gather(1, batch["candidates"])  # (B, C)
            loss = F.cross_entropy(logits, batch["targets"])
            out = ModelOutput(logits=logits, loss=loss)
        else:
            out = model(**model_inputs(batch))
        per_position = out.logits.dim() == 3  # e.g. translation: the loss is a token mean
        if out.loss is not None:  # weighted by what the mean ran over: tokens or examples
            weight = int((batch["targets"] != 0).sum()) if per_position else len(batch["targets"])
            total_loss += out.loss.item() * weight
        if per_position:  # a prediction per position: real tokens only
            real = cpu_batch["targets"] != 0
            all_predictions.append(out.logits.argmax(dim=-1).cpu()[real])
            all_targets.append(cpu_batch["targets"][real])
            continue
        all_predictions.append(out.logits.argmax(dim=-1).cpu())
        if ranked:
            all_logits.append(out.logits.float().cpu())
        if return_probabilities:
            all_probabilities.append(out.logits.float().softmax(-1).cpu())
        all_targets.append(cpu_batch["targets"])
        if "meta_task" in cpu_batch:
            all_tasks.append(cpu_batch["meta_task"])
    model.train(was_training)
    if not all_targets:
        raise UserError("cannot evaluate on an empty split")
    scores = classification_scores(
        torch.cat(all_targets),
        torch.cat(all_predictions),
        torch.cat(all_tasks) if all_tasks else None,
    )
    result = {"loss": total_loss / scores["n"], **scores}
    if ranked:
        result.update(ranking_scores(torch.cat(all_logits), torch.cat(all_targets), ks=(1, 10)))
        if full:
            result.update(scores_from_ranks(torch.cat(all_full_ranks), ks=(10,), prefix="full_"))
    if isinstance(model, ExtraMetricsHook):  # e.g. BLEU of a translation model's decoded output
        model.eval()
        result.update(model.extra_metrics(dataset, batch_size))
        model.train(was_training)
    if return_probabilities:  # None for per-position outputs (no class per example)
        return result, (torch.cat(all_probabilities) if all_probabilities else None)
    return result


def save_confusion_matrix(
    targets: Sequence[int] | np.ndarray | torch.Tensor,
    predictions: Sequence[int] | np.ndarray | torch.Tensor,
    names: Sequence[str],
    path,
    max_classes: int = 40,
):
    """A confusion-matrix heat map (scikit-learn) of the classes that occur in the targets or
    the predictions, rows = true class; ``None`` when there are more than ``max_classes``."""
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    from amkit.io import atomic_save_figure

    targets, predictions = np.asarray(targets), np.asarray(predictions)
    used = sorted(set(targets.tolist()) | set(predictions.tolist()))
    if len(used) > max_classes:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = confusion_matrix(targets, predictions, labels=used)
    size = max(3.5, 0.45 * len(used) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    labels = [names[i] if i < len(names) else str(i) for i in used]
    ConfusionMatrixDisplay(matrix, display_labels=labels).plot(
        ax=ax, colorbar=False, xticks_rotation="vertical", values_format="d"
    )
    fig.tight_layout()
    return atomic_save_figure(fig, path)
