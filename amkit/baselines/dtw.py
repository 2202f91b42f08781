"""The classical spoken-digit baseline: MFCCs compared by dynamic time warping, k-NN.

    amkit baseline fsdd/mfcc_dtw --out runs/fsdd/mfcc_dtw
    amkit baseline fsdd/mfcc_dtw --out runs/fsdd/dtw-probe --set dtw.eval_fraction=0.2

The config names the data as a neural run does (``data: {name: fsdd, ...}``: the same split,
seeded validation part, ``train_fraction`` subset, noisy and synthetic test sets), so the
rows of a results table are comparable, and the baseline's settings::

    dtw: {k: 1, n_mfcc: 13, window: null, eval_fraction: 1.0}

Features: MFCCs as usual (Davis & Mermelstein 1980): the DCT-II (orthonormal,
``scipy.fft.dct``) of the log-mel frames of :class:`amkit.data.audio.LogMel` without
normalisation, the first ``n_mfcc`` coefficients, then each utterance's mean and standard
deviation per coefficient removed. Distance: multivariate DTW (squared Euclidean frame
cost, ``dtaidistance``'s C implementation, an optional Sakoe-Chiba ``window`` in frames);
each clip of an evaluated split takes the majority digit of its ``k`` nearest training
clips (ties: the nearer). Every split of the data is scored (``val``, ``test`` and, when
configured, ``test_white_10db``, ..., ``synthetic``); ``eval_fraction`` < 1 scores a
stratified, seeded share of each (a quicker probe). The run directory gets ``config.yaml``
and ``metrics.json``; a k-NN keeps no model beside its training set.

Legend: N clips, T frames, K coefficients.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import amkit
from amkit.config import ConfigError, apply_overrides, build_section, load_yaml, option, to_dict
from amkit.data.audio import AudioClip
from amkit.data.fsdd import FSDDConfig, build_fsdd, clip_features
from amkit.data.splits import stratified_split
from amkit.errors import UserError
from amkit.io import atomic_write_json, atomic_write_text
from amkit.train.metrics import classification_scores

__all__ = [
    "DTWConfig",
    "dtw_knn_predict",
    "load_dtw_config",
    "mfcc_sequences",
    "run_dtw_baseline",
]


@dataclass
class DTWConfig:
    """``dtw:`` section: neighbours, coefficients, warping window, share of clips scored."""

    k: int = option(1, ge=1)
    n_mfcc: int = option(13, ge=1)
    window: int | None = option(None, ge=1)  # Sakoe-Chiba band in frames; None: unconstrained
    eval_fraction: float = option(1.0, gt=0, le=1)


def mfcc_sequences(clips: list[AudioClip], data: FSDDConfig, n_mfcc: int) -> list[np.ndarray]:
    """Each clip's ``(T, K)`` MFCCs, normalised per utterance (module docstring)."""
    from dataclasses import replace

    from scipy.fft import dct

    raw = replace(data, normalize="none")
    if n_mfcc > raw.n_mels:
        raise UserError(f"dtw.n_mfcc ({n_mfcc}) must be <= data.n_mels ({raw.n_mels})")
    features, lengths = clip_features([c.wave for c in clips], raw)  # (N, T, F)
    out = []
    for row, length in zip(features.numpy(), lengths.tolist(), strict=True):
        coefficients = dct(row[:length].astype(np.float64), type=2, norm="ortho", axis=1)
        c = coefficients[:, :n_mfcc]  # (T, K)
        out.append(np.ascontiguousarray((c - c.mean(0)) / (c.std(0) + 1e-8)))
    return out


def dtw_knn_predict(
    queries: list[np.ndarray],
    references: list[np.ndarray],
    labels: np.ndarray,
    k: int = 1,
    window: int | None = None,
    chunk: int = 64,
) -> np.ndarray:
    """``(Nq,)`` the k-NN label of each ``(T, K)`` query among the references under DTW."""
    from dtaidistance import dtw_ndim

    labels = np.asarray(labels)
    predictions = []
    for start in range(0, len(queries), chunk):
        part = queries[start : start + chunk]
        series = list(part) + list(references)
        block = ((0, len(part)), (len(part), len(series)))
        matrix = dtw_ndim.distance_matrix_fast(series, references[0].shape[1], window=window,
                                               block=block, only_triu=False)  # fmt: skip
        distances = matrix[: len(part), len(part) :]  # (chunk, N_ref)
        nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]  # (chunk, k)
        for row in nearest:
            votes = labels[row]
            counts = np.bincount(votes, minlength=int(labels.max()) + 1)
            best = np.flatnonzero(counts == counts.max())
            predictions.append(next(v for v in votes if v in best))  # ties: the nearer
    return np.asarray(predictions, dtype=np.int64)


def load_dtw_config(
    config: str | Path, overrides: Iterable[str] = ()
) -> tuple[int, FSDDConfig, DTWConfig]:
    """``(seed, data config, dtw settings)`` of a baseline config; every problem at once."""
    raw = apply_overrides(load_yaml(config), overrides)
    problems: list[str] = []
    for key in raw:
        if key not in ("seed", "data", "dtw"):
            problems.append(f"{key}: unknown top-level key; known: seed, data, dtw")
    data = dict(raw.get("data") or {})
    if data.pop("name", None) != "fsdd":
        problems.append("data.name: the DTW baseline reads spoken digits: use name: fsdd")
    data_config = build_section(FSDDConfig, data, "data", problems)
    settings = build_section(DTWConfig, raw.get("dtw") or {}, "dtw", problems)
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(f"seed: expected an integer >= 0, got {seed!r}")
    if problems:
        raise ConfigError(problems, str(config))
    return seed, data_config, settings


def run_dtw_baseline(
    config: str | Path, out: str | Path, overrides: Iterable[str] = ()
) -> dict[str, Any]:
    """Score MFCC + DTW k-NN on every split of the data; write ``out``; return the metrics."""
    started = time.perf_counter()
    seed, data_config, settings = load_dtw_config(config, overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    resolved = {"seed": seed, "data": {"name": "fsdd", **to_dict(data_config)},
                "dtw": to_dict(settings)}  # fmt: skip
    atomic_write_text(out / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    examples = build_fsdd(data_config, seed).info.examples
    train = examples["train"]
    fit_started = time.perf_counter()  # a k-NN's fit: the training clips' MFCCs
    references = mfcc_sequences(train, data_config, settings.n_mfcc)
    train_seconds = time.perf_counter() - fit_started
    labels = np.array([c.label for c in train])
    metrics: dict[str, Any] = {}
    for split, clips in examples.items():
        if split == "train":
            continue
        if settings.eval_fraction < 1:
            keep, _ = stratified_split([c.label for c in clips],
                                       (settings.eval_fraction, 1 - settings.eval_fraction),
                                       seed)  # fmt: skip
            clips = [clips[i] for i in keep]
        queries = mfcc_sequences(clips, data_config, settings.n_mfcc)
        predicted = dtw_knn_predict(queries, references, labels, settings.k, settings.window)
        metrics[split] = classification_scores(np.array([c.label for c in clips]), predicted)
    metrics["timings"] = {
        "train_seconds": round(train_seconds, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    metrics.update(seed=seed, baseline="dtw", n_train=len(train), amkit_version=amkit.__version__)
    atomic_write_json(out / "metrics.json", metrics)
    return metrics
