"""Train a SAGAN-style GAN on an image dataset, sample from it, and score it.

    amkit train-gan configs/fashion_mnist/sagan.yaml --out runs/fashion_mnist/sagan-seed0
    amkit generate runs/fashion_mnist/sagan-seed0 --n 64 --out grid.png

A GAN does not fit the supervised trainer: :func:`train_gan` is its own loop (the hinge loss,
one discriminator and one generator step per batch, Adam with beta1 = 0 and the two
learning rates of SAGAN's TTUR). The config::

    seed: 0
    data: {name: fashion_mnist}                 # any image dataset (its training part)
    gan: {latent: 64, channels: 32, attention: true}
    train: {steps: 6000, batch_size: 64, checkpoint_every: 500}
    score: {classifier: runs/fashion_mnist/cnn-seed0, n: 5000}   # optional

The run directory holds ``config.yaml``, ``generator.safetensors``,
``discriminator.safetensors`` and ``state.json`` (the steps done and the image size),
written every ``checkpoint_every`` steps, so rerunning the command resumes (the Adam moments
start afresh: nothing is unpickled), and ``metrics.json``. With a ``score.classifier`` (an
``image_cnn`` run on the same data) the Fréchet distance between the features of ``n``
generated and ``n`` real test images is computed on that classifier's pooled features
(:func:`amkit.train.frechet.frechet_distance`), not on Inception's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import Tensor

from amkit.config import ConfigError, apply_overrides, build_section, load_yaml, option, to_dict
from amkit.data.base import DATASETS
from amkit.errors import UserError
from amkit.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from amkit.models.vision.gan import Discriminator, GANConfig, Generator, hinge_losses
from amkit.train.checkpoint import load_model, save_model
from amkit.train.frechet import feature_statistics, frechet_distance

__all__ = ["GANTrainConfig", "generate_images", "save_grid", "score_generator", "train_gan"]


@dataclass
class GANTrainConfig:
    """The GAN's training loop; defaults are SAGAN's (Adam 0, 0.9; TTUR 1e-4 / 4e-4)."""

    steps: int = option(6000, ge=1)  # generator updates
    batch_size: int = option(64, ge=2)
    lr_g: float = option(1e-4, gt=0)
    lr_d: float = option(4e-4, gt=0)
    checkpoint_every: int = option(500, ge=1)
    time_limit_minutes: float | None = option(None, gt=0)  # stop (and save) past this


@dataclass
class ScoreConfig:
    """The Fréchet distance on a trained classifier's features (``classifier``: a run)."""

    classifier: str | None = None
    n: int = option(5000, ge=2)


def load_gan_config(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The config's sections as dataclasses; every problem reported at once."""
    raw = apply_overrides(load_yaml(path), overrides)
    known = ("seed", "data", "gan", "train", "score")
    problems = [
        f"{k}: unknown top-level key; known: {', '.join(known)}" for k in raw if k not in known
    ]
    data = dict(raw.get("data") or {})
    name = data.pop("name", None)
    data_config = None
    if name not in DATASETS or DATASETS[name].build.__module__ != "amkit.data.images":
        problems.append(f"data.name: {name!r} is not an image dataset (fashion_mnist, digits)")
    else:
        data_config = build_section(DATASETS[name].config_cls, data, "data", problems)
    out = {
        "seed": raw.get("seed", 0),
        "data_name": name,
        "data": data_config,
        "gan": build_section(GANConfig, raw.get("gan") or {}, "gan", problems),
        "train": build_section(GANTrainConfig, raw.get("train") or {}, "train", problems),
        "score": build_section(ScoreConfig, raw.get("score") or {}, "score", problems),
    }
    if not isinstance(out["seed"], int) or out["seed"] < 0:
        problems.append(f"seed: expected an integer >= 0, got {out['seed']!r}")
    if problems:
        raise ConfigError(problems, str(path))
    return out


def _real_images(config: dict[str, Any], split: str) -> Tensor:
    """``(N, 1, H, W)`` the split's images in [-1, 1] (augmentation off)."""
    config["data"].augment = False
    data = DATASETS[config["data_name"]].build(config["data"], config["seed"])
    mean, std = data.info.image_mean[0], data.info.image_std[0]
    return (data.split(split).tensors["images"] * std + mean) * 2 - 1


def train_gan(config: str | Path, out: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Train (or resume) the GAN of ``config`` into ``out``; returns the metrics."""
    cfg = load_gan_config(config, overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    resolved = {"seed": cfg["seed"], "data": {"name": cfg["data_name"], **to_dict(cfg["data"])},
                **{k: to_dict(cfg[k]) for k in ("gan", "train", "score")}}  # fmt: skip
    saved = out / "config.yaml"
    if saved.is_file() and load_yaml(saved) != resolved:
        raise UserError(f"{out} holds a GAN trained with another config; use another --out")
    atomic_write_text(saved, yaml.safe_dump(resolved, sort_keys=False))
    torch.manual_seed(cfg["seed"])
    real = _real_images(cfg, "train")
    _, _, height, width = real.shape
    gen, disc = Generator(cfg["gan"], height, width), Discriminator(cfg["gan"], height, width)
    train = cfg["train"]
    state_file, step = out / "state.json", 0
    if state_file.is_file():
        step = json.loads(state_file.read_text(encoding="utf-8"))["step"]
        load_model(gen, out / "generator.safetensors")
        load_model(disc, out / "discriminator.safetensors")
    opt_g = torch.optim.Adam(gen.parameters(), train.lr_g, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), train.lr_d, betas=(0.0, 0.9))
    rng = torch.Generator().manual_seed(cfg["seed"] * 1_000_003 + step)
    started, losses = time.perf_counter(), {"d": 0.0, "g": 0.0}

    def checkpoint() -> None:
        save_model(gen, out / "generator.safetensors")
        save_model(disc, out / "discriminator.safetensors")
        info = {"step": step, "image_shape": [1, height, width], "latent": cfg["gan"].latent}
        atomic_write_json(state_file, info)

    while step < train.steps:
        batch = real[torch.randint(0, len(real), (train.batch_size,), generator=rng)]
        z = torch.randn(train.batch_size, cfg["gan"].latent, generator=rng)
        fake, _ = gen(z)
        d_loss, _ = hinge_losses(disc(batch), disc(fake.detach()))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        _, g_loss = hinge_losses(torch.zeros(1), disc(fake))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        step += 1
        losses = {"d": d_loss.item(), "g": g_loss.item()}
        over = (
            train.time_limit_minutes
            and time.perf_counter() - started > 60 * train.time_limit_minutes
        )
        if step % train.checkpoint_every == 0 or step == train.steps or over:
            checkpoint()
        if over:
            break
    seconds = round(time.perf_counter() - started, 3)
    metrics: dict[str, Any] = {"steps": step, "last_losses": losses, "train_seconds": seconds}
    if cfg["score"].classifier:
        metrics["frechet_distance"] = score_generator(out, cfg["score"].classifier, cfg["score"].n)
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def load_generator(run_dir: str | Path) -> Generator:
    """The trained generator of a :func:`train_gan` run directory (eval mode)."""
    run_dir = Path(run_dir)
    state_file = run_dir / "state.json"
    if not state_file.is_file():
        raise FileNotFoundError(f"{run_dir} is not a GAN run directory (no state.json)")
    state = json.loads(state_file.read_text(encoding="utf-8"))
    config = build_section(
        GANConfig, load_yaml(run_dir / "config.yaml").get("gan") or {}, "gan", []
    )
    _, height, width = state["image_shape"]
    gen = Generator(config, height, width)
    load_model(gen, run_dir / "generator.safetensors")
    return gen.eval()


@torch.no_grad()
def generate_images(run_dir: str | Path, n: int, seed: int = 0) -> Tensor:
    """``(n, 1, H, W)`` samples of a GAN run, pixels in [0, 1]."""
    if n < 1:
        raise UserError(f"--n must be >= 1, got {n}")
    gen = load_generator(run_dir)
    z = torch.randn(n, gen.project.in_features, generator=torch.Generator().manual_seed(seed))
    return (gen(z)[0] + 1) / 2


def save_grid(images: Tensor, path: str | Path, columns: int | None = None) -> Path:
    """Save ``images`` ``(N, 1, H, W)`` in [0, 1] as one grayscale PNG grid, 2-pixel gaps
    (atomic)."""
    import io

    from PIL import Image

    n, _, height, width = images.shape
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    canvas = np.zeros((rows * (height + 2) + 2, columns * (width + 2) + 2), np.uint8)
    pixels = (images[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    for i in range(n):
        top, left = 2 + (i // columns) * (height + 2), 2 + (i % columns) * (width + 2)
        canvas[top : top + height, left : left + width] = pixels[i]
    buffer = io.BytesIO()
    Image.fromarray(canvas, "L").save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


@torch.no_grad()
def score_generator(run_dir: str | Path, classifier: str | Path, n: int = 5000) -> float:
    """The Fréchet distance between ``n`` samples of the GAN and ``n`` real test images of
    the classifier run's data, on the classifier's pooled features."""
    from amkit.experiments.loading import load
    from amkit.experiments.run import build_data

    run = load(classifier)
    if not hasattr(run.model, "features"):
        raise UserError(f"score.classifier: {classifier} is not an image_cnn run")
    data = build_data(run.config)
    real = data.split("test").tensors["images"][:n]
    mean, std = run.info.image_mean[0], run.info.image_std[0]
    fake = (generate_images(run_dir, len(real)) - mean) / std
    if fake.shape[1:] != real.shape[1:]:
        raise UserError(f"the GAN makes {tuple(fake.shape[1:])} images, the classifier takes "
                        f"{tuple(real.shape[1:])}")  # fmt: skip

    def features(images: Tensor) -> np.ndarray:
        return torch.cat([run.model.features(b) for b in images.split(500)]).numpy()

    return frechet_distance(
        *feature_statistics(features(fake)), *feature_statistics(features(real))
    )
