"""Ensembles of finished run directories: ``amkit ensemble RUN_DIR... --method M --out DIR``.

Every member run's ``probabilities.safetensors`` (written by ``amkit train`` and ``amkit
baseline``) holds the class probabilities and targets of its ``val`` and ``test`` examples
and, for questions with answer sets (``kbqa``), the answers and hop counts: the ensemble is
then scored by hits@1 (its top answer is one of them) overall and per hop count too.
The members must share the same validation and test examples in the same order (same data,
same split seed); their targets are compared and a mismatch names both runs.

The ensemble is fit on validation only. Its ``val`` metrics are out-of-fold: a fresh copy is
fit on 4/5 of the validation examples and scores the other 1/5, five times (stratified,
seeded; plain shuffled folds when a class has fewer examples than folds, as with thousands
of answer entities), so they are an honest estimate; its ``test`` metrics come from the copy
fit on all validation examples. The output is a run directory like any other:
``metrics.json`` (with an ``ensemble`` section: method, members, weights, each member's
accuracy) and ``probabilities.safetensors`` (``val``: the out-of-fold probabilities; where
every member predicted the unlabelled texts of a self-training setup, the ensemble's
predictions of them too, so an ensemble can be a ``data.pseudo_labels`` teacher).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold

import amkit
from amkit.data.pseudo_labels import POOL, POOL_INDEX, pool_predictions
from amkit.ensemble import METHODS, Stacking, Voting, WeightedAverage
from amkit.errors import UserError
from amkit.io import atomic_save_tensors, atomic_write_json, read_tensors
from amkit.textfile import json_section, read_json
from amkit.train.metrics import classification_scores

SPLITS = ("val", "test")


@dataclass
class RunPredictions:
    """One run's saved predictions: per split ``(N, C)`` probabilities, ``(N,)`` targets,
    for multi-task data ``(N,)`` task ids, for questions with answer sets ``(N, A)`` answers
    (-1 pads) and ``(N,)`` hop counts."""

    run_dir: Path
    probabilities: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    tasks: dict[str, np.ndarray] = field(default_factory=dict)
    train_seconds: float = 0.0
    seed: int | None = None
    # a self-training teacher's predictions of the unlabelled texts: (indices, (N, C))
    unlabelled: tuple[np.ndarray, np.ndarray] | None = None
    answers: dict[str, np.ndarray] = field(default_factory=dict)
    hops: dict[str, np.ndarray] = field(default_factory=dict)


def load_run_predictions(run_dir: str | Path) -> RunPredictions:
    run_dir = Path(run_dir)
    path = run_dir / "probabilities.safetensors"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; finish the run, or write it for an older run with "
            f"`amkit evaluate {run_dir} --save-probabilities`"
        )
    saved = {k: v.numpy() for k, v in read_tensors(path).items()}
    probabilities, targets, tasks, answers, hops = {}, {}, {}, {}, {}
    for split in SPLITS:
        if split not in saved:
            continue
        if f"{split}_targets" not in saved:
            raise UserError(
                f"{path} has {split} probabilities but no {split}_targets (saved by an older "
                f"amkit); rewrite it with `amkit evaluate {run_dir} --save-probabilities` "
                "(or rerun `amkit baseline`)"
            )
        probabilities[split] = np.asarray(saved[split], dtype=np.float32)  # as saved, no copy
        targets[split] = saved[f"{split}_targets"].astype(np.int64)
        for key, table in (("task", tasks), ("answers", answers), ("hops", hops)):
            if f"{split}_{key}" in saved:
                table[split] = saved[f"{split}_{key}"].astype(np.int64)
    if "val" not in probabilities:
        raise UserError(f"{path} has no val predictions; an ensemble is fit on validation")
    metrics_path = run_dir / "metrics.json"
    run_metrics = {}
    if metrics_path.is_file():
        run_metrics = read_json(metrics_path, fix="restore it, or retrain the run")
    seconds = json_section(run_metrics, "timings", metrics_path).get("train_seconds", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise UserError(f"{metrics_path}: timings.train_seconds should be a number")
    unlabelled = None
    if POOL in saved and POOL_INDEX in saved:
        unlabelled = (saved[POOL_INDEX].astype(np.int64), saved[POOL].astype(np.float64))
    return RunPredictions(run_dir, probabilities, targets, tasks, float(seconds),
                          run_metrics.get("seed"), unlabelled, answers, hops)  # fmt: skip


def unlabelled_predictions(members: Sequence[RunPredictions], fitted) -> dict[str, torch.Tensor]:
    """The ensemble's predictions of the unlabelled texts when every member has them (a
    self-training teacher, :mod:`amkit.data.pseudo_labels`), else nothing."""
    if any(m.unlabelled is None for m in members):
        return {}
    index = members[0].unlabelled[0]
    for other in members[1:]:
        if not np.array_equal(other.unlabelled[0], index):
            raise UserError(
                f"{members[0].run_dir} and {other.run_dir} predict different unlabelled texts; "
                "ensemble runs with the same data, seed and train_fraction"
            )
    stacked = np.stack([m.unlabelled[1] for m in members])
    tensors: dict[str, torch.Tensor] = {}
    pool_predictions(tensors, index.tolist(), fitted.predict_proba(stacked))
    return tensors


def stack_members(members: Sequence[RunPredictions], split: str) -> np.ndarray:
    """``(M, N, C)`` probabilities of ``split``, after checking the members agree on it."""
    first = members[0]
    for other in members[1:]:
        if split not in other.probabilities:
            raise UserError(f"{other.run_dir} has no {split} predictions but {first.run_dir} has")
        a, b = first.targets[split], other.targets[split]
        if a.shape != b.shape or not np.array_equal(a, b):
            detail = (
                f"{len(a)} vs {len(b)} examples"
                if a.shape != b.shape
                else f"targets differ at {int((a != b).sum())} of {len(a)} examples"
            )
            raise UserError(
                f"{first.run_dir} and {other.run_dir} predict different {split} examples "
                f"({detail}); ensemble runs trained on the same data with the same seed "
                "(the seed draws the validation split)"
            )
        ours, theirs = first.answers.get(split), other.answers.get(split)
        if (ours is None) != (theirs is None) or not np.array_equal(ours, theirs):
            raise UserError(
                f"{first.run_dir} and {other.run_dir} have different {split} answer sets; "
                "ensemble runs on the same questions"
            )
        if other.probabilities[split].shape[1] != first.probabilities[split].shape[1]:
            raise UserError(
                f"{first.run_dir} and {other.run_dir} have different numbers of classes"
            )
    return np.stack([m.probabilities[split] for m in members])


def build_method(method: str, voting: str = "soft") -> WeightedAverage | Voting | Stacking:
    if method not in METHODS:
        raise UserError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    return Voting(voting=voting) if method == "voting" else METHODS[method]()


def out_of_fold_probabilities(
    estimator: Any, P: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """``(N, C)``: each example's probabilities from a copy of ``estimator`` fit without it
    (stratified ``folds``-fold cross-validation, seeded; plain folds when a class has fewer
    than ``folds`` examples)."""
    out = np.zeros(P.shape[1:], dtype=P.dtype)
    counts = np.bincount(y)
    stratify = counts[counts > 0].min() >= folds  # every class in every fold
    splitter = (StratifiedKFold if stratify else KFold)(folds, shuffle=True, random_state=seed)
    for fit_part, held_out in splitter.split(np.zeros(len(y)), y):
        model = clone(estimator).fit(P[:, fit_part], y[fit_part])
        out[held_out] = model.predict_proba(P[:, held_out])
    return out


def _scores(
    targets: np.ndarray, probabilities: np.ndarray, tasks: np.ndarray | None,
    answers: np.ndarray | None = None, hops: np.ndarray | None = None,
) -> dict:  # fmt: skip
    """Log loss and classification scores of ``(N, C)`` probabilities; with ``(N, A)``
    answer sets also ``hits@1`` (the top class is an answer) and ``hits@1_{k}hop``."""
    picked = probabilities[np.arange(len(targets)), targets]
    top = probabilities.argmax(-1)
    scores = {
        "loss": float(-np.log(np.maximum(picked, 1e-12)).mean()),
        **classification_scores(targets, top, tasks),
    }
    if answers is not None:
        hit = (answers == top[:, None]).any(1)
        scores["hits@1"] = float(hit.mean())
        for k in sorted(set(hops.tolist())) if hops is not None else ():
            scores[f"hits@1_{k}hop"] = float(hit[hops == k].mean())
    return scores


def _split_scores(members: Sequence[RunPredictions], split: str, probabilities: np.ndarray):
    """:func:`_scores` of ``probabilities`` against the first member's ``split`` labels."""
    first = members[0]
    return _scores(first.targets[split], probabilities, first.tasks.get(split),
                   first.answers.get(split), first.hops.get(split))  # fmt: skip


def run_ensemble(
    run_dirs: Sequence[str | Path],
    out: str | Path,
    method: str = "weighted",
    voting: str = "soft",
    folds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit ``method`` on the members' validation predictions and write a run directory."""
    started = time.perf_counter()
    if len(run_dirs) < 2:
        raise UserError("an ensemble needs at least 2 run directories")
    members = [load_run_predictions(d) for d in run_dirs]
    first = members[0]  # the labels every member shares (stack_members checks)
    estimator = build_method(method, voting)
    P_val = stack_members(members, "val")
    y_val = first.targets["val"]
    fitted = clone(estimator).fit(P_val, y_val)
    val_oof = out_of_fold_probabilities(estimator, P_val, y_val, folds, seed)
    metrics: dict[str, Any] = {"val": _split_scores(members, "val", val_oof)}
    tensors = {"val": torch.from_numpy(val_oof).float(), "val_targets": torch.from_numpy(y_val)}
    members_val = [_split_scores(members, "val", m.probabilities["val"]) for m in members]
    has_test = all("test" in m.probabilities for m in members)
    members_test = []
    if has_test:
        P_test = stack_members(members, "test")
        y_test = first.targets["test"]
        test_probabilities = fitted.predict_proba(P_test)
        metrics["test"] = _split_scores(members, "test", test_probabilities)
        tensors["test"] = torch.from_numpy(test_probabilities).float()
        tensors["test_targets"] = torch.from_numpy(y_test)
        members_test = [_split_scores(members, "test", m.probabilities["test"]) for m in members]
    for key, table in (("task", first.tasks), ("answers", first.answers), ("hops", first.hops)):
        for split, values in table.items():
            if split in tensors:  # the ensemble's own run can be a member of another
                tensors[f"{split}_{key}"] = torch.from_numpy(values)
    tensors.update(unlabelled_predictions(members, fitted))
    fit_seconds = time.perf_counter() - started
    members_seconds = sum(m.train_seconds for m in members)
    description = {
        "method": method,
        **({"voting": voting} if method == "voting" else {}),
        "members": [str(d) for d in run_dirs],
        "weights": fitted.weights_.round(4).tolist() if hasattr(fitted, "weights_") else None,
        "val_folds": folds,
        "val_folds_seed": seed,
        "members_val_accuracy": [round(s["accuracy"], 4) for s in members_val],
        "members_test_accuracy": [round(s["accuracy"], 4) for s in members_test],
    }
    if "hits@1" in metrics["val"]:  # questions with answer sets: what the members score
        description["members_val_hits@1"] = [round(s["hits@1"], 4) for s in members_val]
        description["members_test_hits@1"] = [round(s["hits@1"], 4) for s in members_test]
    metrics.update(
        ensemble=description,
        timings={
            "fit_seconds": round(fit_seconds, 3),
            "members_train_seconds": round(members_seconds, 3),
            # what the ensemble cost to train: its members plus its own fit
            "train_seconds": round(members_seconds + fit_seconds, 3),
        },
        # the members' seed (they share it when they share a validation split)
        seed=members[0].seed,
        amkit_version=amkit.__version__,
    )
    out = Path(out)
    atomic_save_tensors(out / "probabilities.safetensors", tensors)
    atomic_write_json(out / "metrics.json", metrics)
    return metrics
