"""Run a non-neural baseline on a text dataset, into a run directory like ``amkit train``'s.

    amkit baseline configs/imdb/nbsvm.yaml --out runs/imdb-nbsvm [--set seed=1]

The config names the data exactly as a neural run does (same seeded validation split and
``train_fraction`` subset, so rows of a results table are comparable) and the baseline's
settings::

    seed: 0
    data: {name: imdb, path: ../shared/data/imdb}
    nbsvm: {classifier: logreg, ngram_max: 2}

The run directory gets ``config.yaml``, ``metrics.json`` (``val`` and ``test``: accuracy,
macro precision / recall / F1, n; timings) and ``probabilities.safetensors`` (``val``,
``test``: ``(N, 2)``) for ensembles and distillation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import yaml
from safetensors.torch import save_file
from sklearn.metrics import precision_recall_fscore_support

import amkit
from amkit.data.base import DATASETS
from amkit.data.text import TEXT_SOURCES, split_indices
from amkit.experiments.config import (
    ConfigError,
    apply_overrides,
    build_section,
    load_yaml,
    option,
    to_dict,
)
from amkit.train.checkpoint import atomic_write_json, atomic_write_text


@dataclass
class NBSVMConfig:
    """Defaults: Wang & Manning 2012 (uni+bigrams, alpha 1, C 1, beta 0.25, SVM)."""

    classifier: Literal["svm", "logreg"] = "svm"
    ngram_max: int = option(2, ge=1)
    alpha: float = option(1.0, gt=0)
    C: float = option(1.0, gt=0)
    beta: float = option(0.25, ge=0, le=1)


def load_baseline_config(
    path: str | Path, overrides: Iterable[str] = ()
) -> tuple[int, str, Any, NBSVMConfig]:
    """``(seed, data name, data config, NBSVMConfig)``, every problem reported at once."""
    raw = apply_overrides(load_yaml(path), overrides)
    problems: list[str] = []
    for key in raw:
        if key not in ("seed", "data", "nbsvm"):
            problems.append(f"{key}: unknown top-level key; known: seed, data, nbsvm")
    data = dict(raw.get("data") or {})
    name = data.pop("name", None)
    data_config = None
    if name not in TEXT_SOURCES:
        problems.append(f"data.name: {name!r} is not a text dataset; known: {sorted(TEXT_SOURCES)}")
    else:
        data_config = build_section(DATASETS[name].config_cls, data, "data", problems)
    nbsvm = build_section(NBSVMConfig, raw.get("nbsvm") or {}, "nbsvm", problems)
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(f"seed: expected an integer >= 0, got {seed!r}")
    if problems:
        raise ConfigError(problems, str(path))
    return seed, name, data_config, nbsvm


def _scores(targets: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    predictions = probabilities.argmax(1)
    precision, recall, f1, _ = precision_recall_fscore_support(
        targets, predictions, average="macro", zero_division=0
    )
    return {
        "accuracy": float((predictions == targets).mean()),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "n": len(targets),
    }


def run_nbsvm(config: str | Path, out: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Fit NBSVM on the training part, score validation and test; returns the metrics."""
    from amkit.baselines.nbsvm import NBSVM

    started = time.perf_counter()
    seed, name, data_config, settings = load_baseline_config(config, overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    resolved = {"seed": seed, "data": {"name": name, **to_dict(data_config)},
                "nbsvm": to_dict(settings)}  # fmt: skip
    atomic_write_text(out / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    data = TEXT_SOURCES[name](data_config)
    targets = np.asarray(data.train_targets)
    fit_idx, val_idx = split_indices(data.train_targets, data_config, seed)
    model = NBSVM(**to_dict(settings))
    fit_started = time.perf_counter()
    model.fit([data.train_texts[i] for i in fit_idx], targets[fit_idx])
    train_seconds = time.perf_counter() - fit_started
    splits = {"val": ([data.train_texts[i] for i in val_idx], targets[val_idx])}
    if data.test_texts is not None:
        splits["test"] = (data.test_texts, np.asarray(data.test_targets))
    metrics: dict[str, Any] = {}
    tensors = {}
    for split, (texts, split_targets) in splits.items():
        probabilities = model.predict_proba(texts)  # (N, 2)
        metrics[split] = _scores(split_targets, probabilities)
        tensors[split] = torch.from_numpy(probabilities.astype(np.float32))
    save_file(tensors, str(out / "probabilities.safetensors"))
    metrics["timings"] = {
        "train_seconds": round(train_seconds, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    metrics.update(seed=seed, n_train=len(fit_idx), n_features=len(model.r_),
                   amkit_version=amkit.__version__)  # fmt: skip
    atomic_write_json(out / "metrics.json", metrics)
    return metrics
