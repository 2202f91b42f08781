"""Run a non-neural baseline on a text dataset, into a run directory like ``amkit train``'s
(image datasets: :mod:`amkit.baselines.images`, an SVM on pixels or HOG features).

    amkit baseline configs/imdb/nbsvm.yaml --out runs/imdb-nbsvm [--set seed=1]

The config names the data exactly as a neural run does (same seeded validation split and
``train_fraction`` subset, so rows of a results table are comparable) and the baseline's
settings::

    seed: 0
    data: {name: imdb}                           # $AMKIT_DATA/imdb, or path: DIR
    nbsvm: {classifier: logreg, ngram_max: 2}    # or: encoder: {C: 1.0} (MiniLM + logreg)
                                                 # or: paragraph_vector: {vector_size: 100}
                                                 # or: finetune: {epochs: 1} (MiniLM tuned)

The run directory gets ``config.yaml``, ``metrics.json`` (``val`` and ``test``: accuracy,
macro precision / recall / F1, n; timings) and ``probabilities.safetensors`` for ensembles
(``val``, ``test``: ``(N, 2)``; ``val_targets``, ``test_targets``: ``(N,)``); with
``nbsvm.train_folds: 5`` also ``train`` (out-of-fold probabilities of the training part) and
``train_index``, which makes the run a distillation teacher for a neural model
(``data.teacher: RUN_DIR``). With ``data.train_fraction < 1`` and ``data.predict_unlabelled:
true`` also ``unlabelled`` and ``unlabelled_index``: the run's predictions of the training
texts the subset leaves out, which makes it a self-training teacher (``data.pseudo_labels:
RUN_DIR``, :mod:`amkit.data.pseudo_labels`).
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import yaml

import amkit
from amkit.config import (
    ConfigError,
    apply_overrides,
    build_section,
    load_yaml,
    option,
    to_dict,
)
from amkit.data.base import DATASETS
from amkit.data.pseudo_labels import load_pseudo_labels, pool_predictions, unlabelled_indices
from amkit.data.text import TEXT_SOURCES, read_labelled_file, split_indices
from amkit.errors import UserError
from amkit.io import atomic_save_tensors, atomic_write_json, atomic_write_text
from amkit.textfile import read_json
from amkit.train.metrics import classification_scores

# the baselines whose fitted model a run directory keeps (pickle-free); the others' libraries
# save by pickling, which amkit never loads
SAVED_BASELINES = ("nbsvm", "encoder")


@dataclass
class NBSVMConfig:
    """Defaults: Wang & Manning 2012 (uni+bigrams, alpha 1, C 1, beta 0.25, SVM)."""

    classifier: Literal["svm", "logreg"] = "svm"
    ngram_max: int = option(2, ge=1)
    alpha: float = option(1.0, gt=0)
    C: float = option(1.0, gt=0)
    beta: float = option(0.25, ge=0, le=1)
    # >= 2: also predict the training part out-of-fold (k-fold), so the run can be a
    # distillation teacher (data.teacher) whose soft labels were not fit on those reviews
    train_folds: int = option(0, ge=0)

    def validate(self) -> list[str]:
        return ["train_folds must be 0 (off) or >= 2"] if self.train_folds == 1 else []


@dataclass
class EncoderLRConfig:
    """A pretrained sentence encoder's vectors + logistic regression
    (:class:`amkit.baselines.encoder_lr.EncoderLR`)."""

    model_path: str | None = None  # a sentence-transformers folder; None: packaged MiniLM
    C: float = option(1.0, gt=0)
    batch_size: int = option(64, ge=1)
    cache_dir: str | None = "runs/cache/sentence-vectors"  # None: no vectors on disk
    train_folds: int = option(0, ge=0)  # as NBSVMConfig.train_folds

    def validate(self) -> list[str]:
        return ["train_folds must be 0 (off) or >= 2"] if self.train_folds == 1 else []


@dataclass
class ParagraphVectorConfig:
    """Paragraph vectors (gensim Doc2Vec, PV-DBOW + skip-gram words by default) + logistic
    regression (:class:`amkit.baselines.paragraph_vector.ParagraphVectorLR`); extra doc2vec."""

    vector_size: int = option(100, ge=1)
    window: int = option(10, ge=1)
    epochs: int = option(20, ge=1)
    min_count: int = option(2, ge=1)
    dm: bool = False  # True: PV-DM (the text's vector and its context predict a word)
    dbow_words: bool = True  # PV-DBOW also trains word vectors (skip-gram)
    negative: int = option(5, ge=1)
    sample: float = option(1e-4, ge=0, lt=1)  # down-sampling of frequent words (0: off)
    C: float = option(1.0, gt=0)
    train_folds: int = option(0, ge=0)  # as NBSVMConfig.train_folds

    def validate(self) -> list[str]:
        return ["train_folds must be 0 (off) or >= 2"] if self.train_folds == 1 else []


@dataclass
class FineTuneConfig:
    """Fine-tune a pretrained encoder end to end (:class:`amkit.baselines.finetune.
    FineTunedEncoder`; extra minilm). Defaults: MiniLM-L6, 256 word pieces (head 128 + tail),
    one epoch, AdamW 5e-5 with 10 % warm-up, batch 16, bf16 where the CPU has it."""

    model_path: str | None = None  # a Hugging Face / sentence-transformers folder
    max_length: int = option(256, ge=8)
    head_tokens: int = option(128, ge=0)
    epochs: float = option(1.0, gt=0)
    lr: float = option(5e-5, gt=0)
    batch_size: int = option(16, ge=1)
    warmup: float = option(0.1, ge=0, le=1)
    weight_decay: float = option(0.01, ge=0)
    dropout: float = option(0.1, ge=0, lt=1)  # before the output layer
    attention_dropout: float = option(0.0, ge=0, lt=1)  # > 0 leaves the fused kernel: slower
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    eval_batch_size: int = option(64, ge=1)
    checkpoint_every: int = option(100, ge=1)

    def validate(self) -> list[str]:
        if self.head_tokens > self.max_length - 2:
            return [f"head_tokens ({self.head_tokens}) must be <= max_length - 2"]
        return []


BASELINES = {
    "nbsvm": NBSVMConfig,
    "encoder": EncoderLRConfig,
    "paragraph_vector": ParagraphVectorConfig,
    "finetune": FineTuneConfig,
}


def make_estimator(kind: str, settings, seed: int = 0, work_dir: str | Path | None = None) -> Any:
    """The scikit-learn estimator of a baseline section (``train_folds`` is the runner's);
    ``seed`` goes to the estimators that draw random numbers, ``work_dir`` (the run
    directory) to the fine-tuned encoder for its resumable checkpoints."""
    params = {k: v for k, v in to_dict(settings).items() if k != "train_folds"}
    if kind == "finetune":
        from amkit.baselines.finetune import FineTunedEncoder

        work = None if work_dir is None else str(work_dir)
        return FineTunedEncoder(**params, seed=seed, work_dir=work)
    if kind == "nbsvm":
        from amkit.baselines.nbsvm import NBSVM

        return NBSVM(**params)
    if kind == "paragraph_vector":
        from amkit.baselines.paragraph_vector import ParagraphVectorLR

        return ParagraphVectorLR(**params, seed=seed)
    from amkit.baselines.encoder_lr import EncoderLR

    return EncoderLR(**params)


def load_baseline_config(
    path: str | Path, overrides: Iterable[str] = ()
) -> tuple[int, str, Any, str, Any]:
    """``(seed, data name, data config, baseline kind, its settings)``: the config has one
    baseline section (``nbsvm``, ``encoder``, ``paragraph_vector`` or ``finetune``); every
    problem is reported at once."""
    raw = apply_overrides(load_yaml(path), overrides)
    if "dtw" in raw:  # spoken digits: MFCC + DTW k-NN
        from amkit.baselines.dtw import load_dtw_config

        seed, data_config, settings = load_dtw_config(path, overrides)
        return seed, "fsdd", data_config, "dtw", settings
    problems: list[str] = []
    known = ("seed", "data", *BASELINES)
    for key in raw:
        if key not in known:
            problems.append(f"{key}: unknown top-level key; known: {', '.join(known)}")
    kinds = [k for k in BASELINES if k in raw]
    if len(kinds) > 1:
        problems.append(f"give one baseline section, not {' and '.join(kinds)}")
    kind = kinds[0] if kinds else "nbsvm"
    data = dict(raw.get("data") or {})
    name = data.pop("name", None)
    data_config = None
    if name not in TEXT_SOURCES:
        problems.append(f"data.name: {name!r} is not a text dataset; known: {sorted(TEXT_SOURCES)}")
    else:
        data_config = build_section(DATASETS[name].config_cls, data, "data", problems)
    settings = build_section(BASELINES[kind], raw.get(kind) or {}, kind, problems)
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(f"seed: expected an integer >= 0, got {seed!r}")
    if problems:
        raise ConfigError(problems, str(path))
    return seed, name, data_config, kind, settings


def _out_of_fold(texts, targets, fit_idx, kind: str, settings, seed: int) -> torch.Tensor:
    """``(N_train, 2)`` probabilities of each training review from a model that never saw it."""
    from sklearn.model_selection import StratifiedKFold

    fit_idx = np.asarray(fit_idx)
    out = np.zeros((len(fit_idx), 2), dtype=np.float32)
    folds = StratifiedKFold(settings.train_folds, shuffle=True, random_state=0)
    for train_part, held_out in folds.split(fit_idx, targets[fit_idx]):
        model = make_estimator(kind, settings, seed).fit(
            [texts[i] for i in fit_idx[train_part]], targets[fit_idx][train_part]
        )
        out[held_out] = model.predict_proba([texts[i] for i in fit_idx[held_out]])
    return torch.from_numpy(out)


# baselines of other data than texts: config section -> (module, function, what a run is)
OTHER_BASELINES = {
    "dtw": ("amkit.baselines.dtw", "run_dtw_baseline",
            "an MFCC + DTW k-NN run: it keeps no model beside its training clips"),
    "image_svm": ("amkit.baselines.images", "run_image_baseline",
                  "an image_svm baseline run: it keeps no fitted model (scikit-learn saves "
                  "SVMs by pickling, which amkit never loads)"),
}  # fmt: skip


def other_baseline(config: dict[str, Any]) -> str | None:
    """The :data:`OTHER_BASELINES` section a baseline config has, or None (a text baseline)."""
    return next((kind for kind in OTHER_BASELINES if kind in config), None)


def run_baseline(
    config: str | Path, out: str | Path, overrides: Iterable[str] = ()
) -> dict[str, Any]:
    """Fit the baseline (NBSVM, encoder or paragraph vectors + logistic regression, or a
    fine-tuned encoder) on the training part, score validation and test; returns the
    metrics. A config with a ``dtw`` section (spoken digits: MFCC + DTW k-NN) or an
    ``image_svm`` section (SVM on pixels or HOG) runs its own baseline (:data:`OTHER_BASELINES`)."""
    kind = other_baseline(load_yaml(config))
    if kind is not None:
        module, function, _ = OTHER_BASELINES[kind]
        return getattr(importlib.import_module(module), function)(config, out, overrides)
    started = time.perf_counter()
    seed, name, data_config, kind, settings = load_baseline_config(config, overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    resolved = {"seed": seed, "data": {"name": name, **to_dict(data_config)},
                kind: to_dict(settings)}  # fmt: skip
    atomic_write_text(out / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    data = TEXT_SOURCES[name](data_config)
    targets = np.asarray(data.train_targets)
    fit_idx, val_idx = split_indices(data.train_targets, data_config, seed)
    pool = unlabelled_indices(len(targets), fit_idx, val_idx)
    fit_texts, fit_targets = [data.train_texts[i] for i in fit_idx], targets[fit_idx]
    metrics: dict[str, Any] = {}
    if data_config.pseudo_labels is not None:  # self-training: the pool texts the teacher labels
        pseudo = load_pseudo_labels(data_config.pseudo_labels, pool, data_config.pseudo_threshold)
        fit_texts += [data.train_texts[i] for i in pseudo.indices]
        fit_targets = np.concatenate([fit_targets, np.asarray(pseudo.labels, dtype=targets.dtype)])
        metrics["pseudo_labels"] = pseudo.summary(data.train_targets)
    model = make_estimator(kind, settings, seed, work_dir=out)
    fit_started = time.perf_counter()
    model.fit(fit_texts, fit_targets)
    atomic_write_text(out / "labels.json", json.dumps(list(data.label_names)))
    if kind in SAVED_BASELINES:  # amkit evaluate scores the run on new files
        model.save(out)
    # a fine-tuned encoder counts its training over resumes (not its reloads)
    train_seconds = getattr(model, "train_seconds_", time.perf_counter() - fit_started)
    splits = {"val": ([data.train_texts[i] for i in val_idx], targets[val_idx])}
    if data.test_texts is not None:
        splits["test"] = (data.test_texts, np.asarray(data.test_targets))
    tensors = {}
    for split, (texts, split_targets) in splits.items():
        probabilities = model.predict_proba(texts)  # (N, 2)
        metrics[split] = classification_scores(split_targets, probabilities.argmax(1))
        tensors[split] = torch.from_numpy(probabilities.astype(np.float32))
        tensors[f"{split}_targets"] = torch.as_tensor(split_targets, dtype=torch.long)
    if getattr(settings, "train_folds", 0):
        tensors["train"] = _out_of_fold(data.train_texts, targets, fit_idx, kind, settings, seed)
        tensors["train_index"] = torch.tensor(fit_idx, dtype=torch.long)
    if data_config.predict_unlabelled:  # a teacher for self-training (data.pseudo_labels)
        pool_texts = [data.train_texts[i] for i in pool]
        pool_predictions(tensors, pool, model.predict_proba(pool_texts))
    atomic_save_tensors(out / "probabilities.safetensors", tensors)
    metrics["timings"] = {
        "train_seconds": round(train_seconds, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    metrics.update(
        seed=seed, baseline=kind, n_train=len(fit_texts), amkit_version=amkit.__version__
    )
    if kind == "nbsvm":
        metrics["n_features"] = len(model.r_)
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def is_baseline_run(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` was written by ``amkit baseline`` (its config has a baseline
    section)."""
    config = Path(run_dir) / "config.yaml"
    return config.is_file() and any(
        kind in load_yaml(config) for kind in (*BASELINES, *OTHER_BASELINES)
    )


def load_baseline(run_dir: str | Path) -> Any:
    """The fitted estimator of a baseline run (NBSVM or encoder + logistic regression)."""
    run_dir = Path(run_dir)
    _, _, _, kind, _ = load_baseline_config(run_dir / "config.yaml")
    if kind not in SAVED_BASELINES:
        raise UserError(
            f"{run_dir} is a {kind} baseline run: it keeps no fitted model (only "
            f"{', '.join(SAVED_BASELINES)} baselines do, pickle-free); its val and test scores "
            "are in metrics.json"
        )
    if kind == "nbsvm":
        from amkit.baselines.nbsvm import NBSVM

        return NBSVM.load(run_dir)
    from amkit.baselines.encoder_lr import EncoderLR

    return EncoderLR.load(run_dir)


def evaluate_baseline(
    run_dir: str | Path, split: str = "test", input: str | Path | None = None
) -> dict[str, Any]:
    """Score a baseline run's saved model on ``split`` of its data (read again) or on a new
    labelled file ``input`` (CSV, TSV or JSONL with the data's text and label columns)."""
    run_dir = Path(run_dir)
    kind = other_baseline(load_yaml(run_dir / "config.yaml"))
    if kind is not None:
        raise UserError(
            f"{run_dir} is {OTHER_BASELINES[kind][2]}; its scores of every split are in "
            "metrics.json"
        )
    seed, name, data_config, _, _ = load_baseline_config(run_dir / "config.yaml")
    model = load_baseline(run_dir)
    if input is not None:
        names = read_json(run_dir / "labels.json", list, fix="retrain, or restore the file")
        texts, ids = read_labelled_file(input, data_config, names)
        targets = np.asarray(ids)
    else:
        data = TEXT_SOURCES[name](data_config)
        if split == "val":
            _, val_idx = split_indices(data.train_targets, data_config, seed)
            texts = [data.train_texts[i] for i in val_idx]
            targets = np.asarray(data.train_targets)[val_idx]
        elif split == "test" and data.test_texts is not None:
            texts, targets = data.test_texts, np.asarray(data.test_targets)
        else:
            raise UserError(f"--split {split!r}: a baseline run is scored on val or test")
    return classification_scores(targets, model.predict_proba(texts).argmax(1))
