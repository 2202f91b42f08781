"""Classical image baselines: a support vector machine on raw pixels or on HOG features.

    amkit baseline configs/fashion_mnist/hog_svm.yaml --out runs/fashion_mnist/hog-svm

The config names the data as a neural run does (the same seeded validation split) and an
``image_svm`` section::

    seed: 0
    data: {name: fashion_mnist}
    image_svm: {features: hog, classifier: linear, C: 1.0, train_subset: null}

``features: pixels`` feeds the pixels in [0, 1]; ``hog`` the histograms of oriented gradients
of Dalal & Triggs 2005 (scikit-image's ``hog``, extra ``vision``). ``classifier: linear`` is
scikit-learn's ``LinearSVC`` (fast on all 55,000 images), ``rbf`` its ``SVC`` with an RBF
kernel (quadratic in the training set: use ``train_subset``). The run directory gets
``config.yaml`` and ``metrics.json`` (``val`` and ``test``: accuracy, macro precision /
recall / F1, n; timings); the fitted SVM is not kept (scikit-learn saves by pickling, which
amkit never loads).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

import amkit
from amkit.config import ConfigError, apply_overrides, build_section, load_yaml, option, to_dict
from amkit.data.base import DATASETS
from amkit.errors import UserError
from amkit.io import atomic_write_json, atomic_write_text
from amkit.train.metrics import classification_scores

IMAGE_DATASETS = ("fashion_mnist", "digits")


@dataclass
class ImageSVMConfig:
    """Defaults: HOG (9 orientations, 4x4-pixel cells, 2x2-cell blocks, L2-Hys) + a linear
    SVM with C = 1."""

    features: Literal["pixels", "hog"] = "hog"
    classifier: Literal["linear", "rbf"] = "linear"
    C: float = option(1.0, gt=0)
    orientations: int = option(9, ge=1)  # HOG
    cell: int = option(4, ge=1)  # HOG: pixels per cell side
    block: int = option(2, ge=1)  # HOG: cells per block side
    train_subset: int | None = option(None, ge=10)  # fit on the first N training images


def image_features(images: np.ndarray, settings: ImageSVMConfig) -> np.ndarray:
    """``(N, F)`` features of ``images`` ``(N, H, W)`` in [0, 1]: the pixels, or HOG."""
    if settings.features == "pixels":
        return images.reshape(len(images), -1)
    try:
        from skimage.feature import hog
    except ImportError:
        raise UserError(
            "image_svm.features: hog needs scikit-image: pip install 'amkit[vision]' "
            "(or features: pixels)"
        ) from None
    return np.stack([
        hog(
            image,
            orientations=settings.orientations,
            pixels_per_cell=(settings.cell, settings.cell),
            cells_per_block=(settings.block, settings.block),
            block_norm="L2-Hys",
        )
        for image in images
    ]).astype(np.float32)  # fmt: skip


def load_image_baseline_config(
    path: str | Path, overrides: Iterable[str] = ()
) -> tuple[int, str, Any, ImageSVMConfig]:
    """``(seed, data name, data config, settings)``; every problem reported at once."""
    raw = apply_overrides(load_yaml(path), overrides)
    problems = [
        f"{key}: unknown top-level key; known: seed, data, image_svm"
        for key in raw
        if key not in ("seed", "data", "image_svm")
    ]
    data = dict(raw.get("data") or {})
    name = data.pop("name", None)
    data_config = None
    if name not in IMAGE_DATASETS:
        problems.append(f"data.name: {name!r} is not an image dataset; known: {IMAGE_DATASETS}")
    else:
        data_config = build_section(DATASETS[name].config_cls, data, "data", problems)
    settings = build_section(ImageSVMConfig, raw.get("image_svm") or {}, "image_svm", problems)
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(f"seed: expected an integer >= 0, got {seed!r}")
    if problems:
        raise ConfigError(problems, str(path))
    return seed, name, data_config, settings


def run_image_baseline(
    config: str | Path, out: str | Path, overrides: Iterable[str] = ()
) -> dict[str, Any]:
    """Fit the SVM on the training part (augmentation off), score validation and test;
    write ``config.yaml`` and ``metrics.json`` into ``out``; return the metrics."""
    from sklearn.svm import SVC, LinearSVC

    started = time.perf_counter()
    seed, name, data_config, settings = load_image_baseline_config(config, overrides)
    data_config.augment = False
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    resolved = {"seed": seed, "data": {"name": name, **to_dict(data_config)},
                "image_svm": to_dict(settings)}  # fmt: skip
    atomic_write_text(out / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    data = DATASETS[name].build(data_config, seed)
    mean, std = data.info.image_mean[0], data.info.image_std[0]

    def part(split: str, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        tensors = data.split(split).tensors
        pixels = (tensors["images"][:limit, 0] * std + mean).numpy()  # back to [0, 1]
        return image_features(pixels, settings), tensors["targets"][:limit].numpy()

    x, y = part("train", settings.train_subset)
    if settings.classifier == "linear":
        model = LinearSVC(C=settings.C, random_state=seed)
    else:
        model = SVC(C=settings.C, kernel="rbf", gamma="scale", random_state=seed)
    fit_started = time.perf_counter()
    model.fit(x, y)
    train_seconds = time.perf_counter() - fit_started
    metrics: dict[str, Any] = {}
    for split in ("val", "test"):
        features, targets = part(split)
        metrics[split] = classification_scores(targets, model.predict(features))
    metrics["timings"] = {
        "train_seconds": round(train_seconds, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    metrics.update(
        seed=seed,
        baseline="image_svm",
        n_train=len(y),
        n_features=int(x.shape[1]),
        amkit_version=amkit.__version__,
    )
    atomic_write_json(out / "metrics.json", metrics)
    return metrics
