"""One entry point: ``amkit.run(config) -> RunResult``; the CLI calls the same function.

A config has four parts, each validated against its dataclass::

    seed: 0
    data:  {name: associative_recall, n_pairs: 6, ...}   # DATASETS[name] config
    model: {name: recall_attention, d_model: 64, ...}    # MODELS[name] config
    train: {epochs: 10, lr: 0.001, ...}                   # TrainConfig

A run directory holds everything needed to evaluate, explain or resume the run:
``config.yaml`` (fully resolved), ``metrics.jsonl``, ``metrics.json``, ``model.safetensors``,
``last.safetensors`` + ``last.json``, ``train.log``, ``probabilities.safetensors`` (the
best model's class probabilities of every validation and test example, for ensembles),
``predictions.jsonl`` (each of those examples' input, label and prediction).
"""

from __future__ import annotations

import logging
import platform
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

import amkit
from amkit.compress.methods import apply_compression
from amkit.config import ConfigError
from amkit.data.base import DATASETS, DataBundle, DataInfo
from amkit.errors import UserError
from amkit.experiments.experiment import (  # noqa: F401  (re-exported: the run API's names)
    TOP_LEVEL_KEYS,
    ComponentSpec,
    ExperimentConfig,
    load_config,
    parse_config,
)
from amkit.experiments.loading import RUN_FORMAT, check_run_format, save_data_info
from amkit.experiments.predictions import save_predictions, translation_rows
from amkit.io import (
    atomic_save_tensors,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    folder_lock,
    remove_temp_files,
)
from amkit.models.base import MODELS
from amkit.train import distributed
from amkit.train.checkpoint import has_checkpoint, load_model
from amkit.train.device import describe_device, resolve_device
from amkit.train.metrics import evaluate, save_confusion_matrix
from amkit.train.trainer import Trainer

log = logging.getLogger("amkit")


def peak_memory_mb() -> float | None:
    """Peak resident memory of this process so far in MiB (None where the OS cannot say);
    a resumed run reports its last process."""
    try:
        import resource
    except ImportError:  # not on Unix
        return None
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(kib / (1024 * 1024 if platform.system() == "Darwin" else 1024), 1)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_data(config: ExperimentConfig) -> DataBundle:
    entry = DATASETS.get_or_raise(config.data.name)
    return entry.build(config.data.config, config.seed)


def build_model_for(config: ExperimentConfig, data: DataBundle) -> nn.Module:
    entry = MODELS.get_or_raise(config.model.name)
    return entry.cls(config.model.config, data.info)


@dataclass
class RunResult:
    """What one run produced (also on disk in ``run_dir``)."""

    model: nn.Module
    data: DataBundle
    metrics: dict[str, Any]
    history: list[dict]
    timings: dict[str, float]
    seed: int
    config: dict[str, Any]
    run_dir: Path
    version: str = amkit.__version__


def default_run_dir(config: ExperimentConfig) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{config.model.name}-{config.data.name}-{stamp}"


class _RunLog:
    """Attach ``train.log`` in the run directory to the ``amkit`` logger for one run."""

    def __init__(self, run_dir: Path):
        self.handler = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def __enter__(self) -> None:
        log.addHandler(self.handler)
        if log.level == logging.NOTSET or log.level > logging.INFO:
            log.setLevel(logging.INFO)

    def __exit__(self, *exc: object) -> None:
        log.removeHandler(self.handler)
        self.handler.close()


def run(
    config: str | Path | Mapping[str, Any] | ExperimentConfig | None = None,
    run_dir: str | Path | None = None,
    overrides: Iterable[str] = (),
    resume: bool = False,
    on_epoch_end: list[Callable[[int, dict], None]] | None = None,
) -> RunResult:
    """Train and test one configuration; write the run directory; return a :class:`RunResult`.

    Args:
        config: YAML path, mapping or :class:`ExperimentConfig`. With ``resume=True`` it may
            be ``None``: the run directory's own ``config.yaml`` is used.
        run_dir: output folder; default ``runs/<model>-<data>-<time>``.
        overrides: dotted ``key=value`` strings applied on top of the config.
        resume: continue the run in ``run_dir`` from its last finished epoch.
        on_epoch_end: callbacks passed to the :class:`Trainer`.
    """
    rank, world_size = distributed.world()
    if rank == 0:
        return _run(config, run_dir, overrides, resume, on_epoch_end)
    # data-parallel rank > 0: train in step with rank 0 but write into a scratch folder
    if run_dir is None:
        raise UserError("distributed training needs an explicit run directory (--out)")
    scratch = Path(tempfile.mkdtemp(prefix=f"amkit-rank{rank}-"))
    try:
        if resume:
            shutil.copytree(run_dir, scratch, dirs_exist_ok=True)
        result = _run(config, scratch, overrides, resume, None)
        result.run_dir = Path(run_dir)
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(
    config: str | Path | Mapping[str, Any] | ExperimentConfig | None,
    run_dir: str | Path | None,
    overrides: Iterable[str],
    resume: bool,
    on_epoch_end: list[Callable[[int, dict], None]] | None,
) -> RunResult:
    started = time.perf_counter()
    overrides = list(overrides)
    if resume:
        if run_dir is None:
            raise UserError("resume needs the run directory to continue")
        run_dir = Path(run_dir)
        saved = run_dir / "config.yaml"
        if not saved.is_file():
            if not run_dir.is_dir():
                raise FileNotFoundError(f"cannot resume: {run_dir} does not exist")
            raise FileNotFoundError(
                f"cannot resume: {saved} does not exist: the run was stopped before it saved "
                f"its config, or this is not a run directory; start it again with "
                f"`amkit train CONFIG --out {run_dir}`"
            )
        check_run_format(run_dir)
        cfg = load_config(config if config is not None else saved, overrides)
    else:
        if config is None:
            raise UserError("a config is required unless resuming")
        cfg = load_config(config, overrides)
        run_dir = Path(run_dir) if run_dir is not None else default_run_dir(cfg)
        if has_checkpoint(run_dir):
            raise FileExistsError(
                f"{run_dir} already holds a run; resume it with --resume {run_dir} "
                "or choose another --out"
            )
    if cfg.compress.method != "none":
        raise UserError(
            "compress: a compressed run is made by `amkit compress RUN_DIR`, not trained; "
            "remove the compress section to train"
        )
    resolve_device(cfg.train.device)  # a device this machine lacks: an error before any file
    with folder_lock(run_dir):
        if not resume and has_checkpoint(run_dir):  # trained meanwhile by another process
            raise FileExistsError(f"{run_dir} already holds a run; resume it with --resume")
        for tmp in remove_temp_files(run_dir):  # of a killed run, resumed or started again
            log.info("removed %s, a write its killed process left unfinished", tmp.name)
        return _train_locked(cfg, run_dir, resume, started, on_epoch_end)


def _train_locked(
    cfg: ExperimentConfig,
    run_dir: Path,
    resume: bool,
    started: float,
    on_epoch_end: list[Callable[[int, dict], None]] | None,
) -> RunResult:
    """:func:`_run` once it holds the run directory's lock."""
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = cfg.to_dict()
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))

    with _RunLog(run_dir):
        log.info("amkit %s, run dir %s, seed %d", amkit.__version__, run_dir, cfg.seed)
        seed_everything(cfg.seed)
        data = build_data(cfg)
        for name, content in data.files.items():
            write = atomic_write_bytes if isinstance(content, bytes) else atomic_write_text
            write(run_dir / name, content)
        save_data_info(run_dir, data)  # amkit.load builds the model from it, without the data
        model = build_model_for(cfg, data)
        resumable = resume and has_checkpoint(run_dir)
        if cfg.train.init_from and not resumable:  # a resumed run has its own last weights
            init_from_run(model, data, cfg.train.init_from, cfg.train.init_partial)
        setup_seconds = time.perf_counter() - started
        trainer = Trainer(model, data, cfg.train, run_dir, cfg.seed, on_epoch_end)
        if resume and not resumable:
            # stopped (killed, a crash) before its first epoch ended: nothing was saved but
            # the config, so the run starts again from epoch 1 with that config
            log.warning("%s has no finished epoch to resume from: training from epoch 1", run_dir)
        elif resume:
            trainer.resume()
        fit = trainer.fit()
        load_model(model, run_dir / "model.safetensors")
        metrics: dict[str, Any] = {
            "best": fit["best"],
            "final": fit["history"][-1] if fit["history"] else None,
            "epochs": len(fit["history"]),
        }
        metrics.update(evaluate_and_save_probabilities(model, data, run_dir, cfg))
        timings = {
            "setup_seconds": round(setup_seconds, 3),
            "train_seconds": round(fit["train_seconds"], 3),
            "total_seconds": round(time.perf_counter() - started, 3),
            "peak_memory_mb": peak_memory_mb(),
        }
        summary = {
            **metrics,
            "timings": timings,
            "seed": cfg.seed,
            "amkit_version": amkit.__version__,
            "run_format": RUN_FORMAT,
            "torch_version": torch.__version__,
            "machine": platform.machine(),
            "threads": torch.get_num_threads(),
            "precision": trainer.precision,  # as trained: train.precision auto resolved
            **describe_device(trainer.device),  # device, device_name
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        atomic_write_json(run_dir / "metrics.json", summary)
        if "test" in metrics and "accuracy" in metrics["test"]:
            log.info(
                "test accuracy %.4f on %d examples",
                metrics["test"]["accuracy"],
                metrics["test"]["n"],
            )
        elif "test" in metrics and "mse" in metrics["test"]:
            log.info(
                "test mse %.4f mae %.4f on %d windows",
                metrics["test"]["mse"],
                metrics["test"]["mae"],
                metrics["test"]["n"],
            )
    return RunResult(
        model=model,
        data=data,
        metrics=metrics,
        history=fit["history"],
        timings=timings,
        seed=cfg.seed,
        config=resolved,
        run_dir=run_dir,
    )


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _check_same_config(run_dir: Path, expected: ExperimentConfig) -> None:
    """A repeat found on disk must have been trained with the config asked for now."""
    saved = _flatten(load_config(run_dir / "config.yaml").to_dict())
    wanted = _flatten(expected.to_dict())
    diffs = [
        f"{k}: {saved.get(k)!r} on disk, {wanted.get(k)!r} asked"
        for k in sorted(set(saved) | set(wanted))
        if saved.get(k) != wanted.get(k) and not k.endswith("progress")
    ]
    if diffs:
        raise ConfigError(
            [f"{run_dir} was trained with another config; use another --out or match it:"] + diffs
        )


def init_from_run(
    model: nn.Module, data: DataBundle, source: str | Path, partial: bool = False
) -> None:
    """``train.init_from``: load the weights of ``source`` (a run directory's
    ``model.safetensors``, or a weights file) into ``model``. From a run directory its data
    is rebuilt to check that both runs number the words the same way (a vocabulary of the
    same size in another order would load without a shape error and mean nothing).
    ``partial`` (``train.init_partial``): the model's tensors the source lacks keep their
    fresh values; :func:`load_model` logs them."""
    source = Path(source)
    weights = source / "model.safetensors" if source.is_dir() else source
    if source.is_dir():
        if not (source / "config.yaml").is_file():
            raise FileNotFoundError(f"train.init_from: {source} is not a run directory")
        theirs = build_data(load_config(source / "config.yaml"))
        ours_vocab, their_vocab = data.info.vocab, theirs.info.vocab
        if ours_vocab != their_vocab or data.files != theirs.files:
            raise UserError(
                f"train.init_from: {source} was trained on another vocabulary (its data "
                "section builds different words or word ids); start from a run on the same data"
            )
    load_model(model, weights, "train.init_from", partial=partial)
    log.info("weights initialised from %s", weights)


def load_run(
    run_dir: str | Path, overrides: Iterable[str] = (), device: str = "cpu"
) -> tuple[ExperimentConfig, nn.Module, DataBundle]:
    """Rebuild the config, data and best model of a finished run directory (for evaluation
    and explanation on its own splits; :func:`amkit.load` loads the model without the data).
    The model is put on ``device`` (``auto``, ``cpu``, ``cuda:N``, ...), whatever device it
    was trained on."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.yaml)")
    check_run_format(run_dir)
    cfg = load_config(run_dir / "config.yaml", overrides)
    target = device_for_run(cfg, device)
    seed_everything(cfg.seed)
    data = build_data(cfg)
    return cfg, restore_model(cfg, data.info, run_dir, target), data


def restore_model(
    cfg: ExperimentConfig, info: DataInfo, run_dir: Path, device: torch.device
) -> nn.Module:
    """The best model of ``run_dir``: built from ``cfg`` and ``info``, its weights loaded,
    compressed as the run was (a quantized run re-quantizes), in eval mode on ``device``."""
    model = MODELS.get_or_raise(cfg.model.name).cls(cfg.model.config, info)
    load_model(model, run_dir / "model.safetensors")
    return apply_compression(model, cfg.compress).eval().to(device)


def device_for_run(cfg: ExperimentConfig, device: str) -> torch.device:
    """The device to put a run's model on; a quantized run runs on the CPU only (int8
    dynamic quantization is a CPU kernel), so another device is an error that says so."""
    target = resolve_device(device, "--device")
    if cfg.compress.method == "quantize" and target.type != "cpu":
        if device == "auto":
            return torch.device("cpu")
        raise UserError(
            f"--device {device}: this run is int8-quantized (amkit compress --method quantize),"
            " which runs on the CPU only; use --device cpu"
        )
    return target


def evaluate_and_save_probabilities(
    model: nn.Module, data: DataBundle, run_dir: Path, cfg: ExperimentConfig
) -> dict[str, Any]:
    """Metrics of the ``val`` and ``test`` splits, and every example's class probabilities
    saved to ``run_dir/probabilities.safetensors`` for ensembles: ``{split}`` ``(N, C)``,
    ``{split}_targets`` ``(N,)``, for multi-task data ``{split}_task`` ``(N,)``, and for
    questions with answer sets ``{split}_answers`` ``(N, A)`` (-1 pads) and ``{split}_hops``
    ``(N,)``; each example's input, label and prediction to ``predictions.jsonl`` (a
    translation run's: each sentence's translation beside its reference)."""
    metrics, tensors, translated = {}, {}, []
    for split in ("val", "test"):
        if split not in data.splits:
            continue
        dataset = data.split(split)
        metrics[split], probabilities = evaluate(
            model, dataset, cfg.train.eval_batch_size, return_probabilities=True
        )
        if probabilities is None and hasattr(model, "translate"):
            translated += translation_rows(model, data, split)  # sentences, not classes
        if probabilities is None:
            continue
        tensors[split] = probabilities
        tensors[f"{split}_targets"] = dataset.tensors["targets"]
        for key, name in (("meta_task", "task"), ("answers", "answers"), ("meta_hops", "hops")):
            if key in dataset.tensors:  # tasks; answer sets and hop counts (kbqa): hits@1
                tensors[f"{split}_{name}"] = dataset.tensors[key]
    if tensors:
        atomic_save_tensors(run_dir / "probabilities.safetensors", tensors)
        splits = {s: tensors[s] for s in ("val", "test") if s in tensors}
        save_predictions(run_dir, data, splits)  # per example, for amkit serve
    elif translated:
        save_predictions(run_dir, data, {}, translated)
    if "test" in tensors:  # where the test errors go, as a heat map (small label sets only)
        names = data.info.label_names or data.info.vocab or []
        save_confusion_matrix(
            tensors["test_targets"],
            tensors["test"].argmax(1),
            list(names),
            run_dir / "plots" / "confusion_test.png",
        )
    return metrics


def save_run_probabilities(
    run_dir: str | Path, overrides: Iterable[str] = (), device: str = "cpu"
) -> dict[str, Any]:
    """(Re)write ``probabilities.safetensors`` of a finished run from its best model (for runs
    trained before amkit saved them); returns the val/test metrics."""
    cfg, model, data = load_run(run_dir, overrides, device)
    return evaluate_and_save_probabilities(model, data, Path(run_dir), cfg)


def evaluate_run(
    run_dir: str | Path, split: str = "test", overrides: Iterable[str] = (), device: str = "cpu"
) -> dict[str, Any]:
    """Evaluate a run directory's best model on ``split``, on ``device``."""
    cfg, model, data = load_run(run_dir, overrides, device)
    return evaluate(model, data.split(split), cfg.train.eval_batch_size)
