"""The training loop: optimizer, schedule, clipping, evaluation, early stopping, checkpoints.

The trainer knows nothing of a model's insides: ``model(**batch)`` returns an output with
``loss`` and ``logits``. Everything it writes goes into one run directory:

- ``metrics.jsonl``: one JSON line per epoch (train loss/accuracy, validation metrics, lr);
- ``model.safetensors``: weights of the best epoch on the monitored validation metric;
- ``last.safetensors`` + ``last.json``: everything needed to resume exactly;
- TensorBoard events under ``events/`` when ``tensorboard`` is installed.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from amkit.data.base import DataBundle, iterate_batches, model_inputs
from amkit.errors import UserError
from amkit.io import atomic_write_text, fault_point
from amkit.models.hooks import CompileStepsHook, EpochEndHook
from amkit.train import distributed
from amkit.train.checkpoint import load_training_state, save_model, save_training_state
from amkit.train.device import resolve_device, to_device
from amkit.train.metrics import evaluate
from amkit.train.options import (  # noqa: F401  (TrainConfig and helpers re-exported)
    TrainConfig,
    clip_gradients,
    epoch_line,
    make_optimizer,
    make_scheduler,
)
from amkit.train.precision import resolve_precision

log = logging.getLogger("amkit")


def _tensorboard_writer(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra
        return None
    return SummaryWriter(log_dir=str(run_dir / "events"))


# what Trainer._save keeps beside the tensors, and the JSON types resume needs
_NUMBER = (int, float)
_SAVED = {"epoch": int, "history": list, "best": (*_NUMBER, type(None)),
          "best_epoch": (int, type(None)), "bad_epochs": int, "train_seconds": _NUMBER,
          "partial": (dict, type(None))}  # fmt: skip
_PARTIAL = {"step": int, "lr": _NUMBER, "totals": list, "seconds": _NUMBER}


def _check_resumed(extra: dict, path: Path) -> None:
    """A checkpoint's counters have the types training continues with, or a user error."""
    bad = [k for k, kind in _SAVED.items() if not isinstance(extra.get(k), kind)]
    partial = extra.get("partial")
    if isinstance(partial, dict):
        bad += [
            f"partial.{k}" for k, kind in _PARTIAL.items() if not isinstance(partial.get(k), kind)
        ]
        if isinstance(partial.get("totals"), list) and len(partial["totals"]) != 3:
            bad.append("partial.totals")
    if bad:
        raise UserError(
            f"{path}: the checkpoint's {', '.join(bad)} missing or malformed; restore the run "
            "directory, or train into a new one"
        )


class Trainer:
    """Train ``model`` on ``data`` into ``run_dir``.

    Args:
        model: a task model whose ``forward(**batch)`` returns ``ModelOutput``.
        data: the dataset bundle (splits ``train`` and ``val``; ``test`` optional).
        config: training settings.
        run_dir: output folder (created).
        seed: controls shuffling (a per-epoch generator) and the global RNG.
        on_epoch_end: callbacks ``f(epoch, record)`` called after each epoch is saved.

    A model may define the hooks of :mod:`amkit.models.hooks`:
    :class:`~amkit.models.hooks.EpochEndHook` ``epoch_end(epoch, record)``, called after
    validation and the best-model save; returning ``{"hold_schedule": True}`` skips this
    epoch's scheduler step and ``{"restart_schedule": True}`` resets the learning rate and
    its schedule (MemN2N's linear start does both, as its authors' code did) and gives early
    stopping its full patience again from that epoch;
    :class:`~amkit.models.hooks.CompileStepsHook` ``compile_steps()`` for ``train.compile``;
    and, through the metrics, :class:`~amkit.models.hooks.ExtraMetricsHook` and
    :class:`~amkit.models.hooks.ScoreItemsHook`.
    """

    def __init__(
        self,
        model: nn.Module,
        data: DataBundle,
        config: TrainConfig,
        run_dir: str | Path,
        seed: int = 0,
        on_epoch_end: list[Callable[[int, dict], None]] | None = None,
    ):
        self.model = model
        self.rank, self.world_size = distributed.world()
        # data-parallel on GPUs: each process its own GPU (torchrun's LOCAL_RANK)
        self.device = distributed.process_device(resolve_device(config.device))
        model.to(self.device)
        # what the training step calls: the model, or its DDP wrapper that averages gradients
        self.step_model = model
        if self.world_size > 1:
            distributed.init_process_group(self.device)
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.step_model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        self.data = data
        self.config = config
        self.run_dir = Path(run_dir)
        self.seed = seed
        self.on_epoch_end = on_epoch_end or []
        self.precision = resolve_precision(config.precision, self.device)  # fp32 | bf16 | fp16
        if config.precision == "auto":
            log.info("train.precision auto -> %s on %s", self.precision, self.device)
        # fp16 gradients underflow without loss scaling; bf16 has float32's range
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        # a model with nothing to learn (e.g. most-popular) is evaluated once, not trained
        self.trainable = any(p.requires_grad for p in model.parameters())
        self.optimizer = make_optimizer(config, model.parameters()) if self.trainable else None
        self.scheduler = make_scheduler(config, self.optimizer) if self.trainable else None
        self.averaged = self._averaged_model() if self.trainable else None
        if config.compile:
            self._compile_steps()
        self.history: list[dict] = []
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        # early stopping counts from the later of the best epoch and the last phase change
        # (a model's restart_schedule): a new phase gets its full patience
        self.patience_start = 0
        self.start_epoch = 1
        self.train_seconds = 0.0
        # a mid-epoch checkpoint (train.checkpoint_every) to continue from: its epoch's step,
        # running totals, seconds and learning rate at the epoch's start
        self.partial: dict | None = None

    def _compile_steps(self) -> None:
        """``train.compile``: the model compiles its own per-step cell (the moving average, a
        copy made before, stays eager: it only validates)."""
        if not isinstance(self.model, CompileStepsHook):
            raise UserError(
                f"train.compile: {type(self.model).__name__} has no recurrent step to compile "
                "(models that have one: entnet); remove train.compile"
            )
        self.model.compile_steps()

    def _averaged_model(self) -> nn.Module | None:
        """The moving average of the weights (``train.ema_decay``), or None."""
        if self.config.ema_decay is None:
            return None
        if isinstance(self.model, EpochEndHook):
            raise UserError(
                f"train.ema_decay: {type(self.model).__name__} changes between epochs "
                "(epoch_end, e.g. MemN2N's linear start); averaging its weights across those "
                "changes is not supported: remove train.ema_decay"
            )
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        # parameters are averaged; buffers (constants, flags) are copied before each use
        return AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(self.config.ema_decay))

    @property
    def eval_model(self) -> nn.Module:
        """What validation scores and ``model.safetensors`` keeps: the model, or its moving
        average with the model's current buffers."""
        if self.averaged is None:
            return self.model
        with torch.no_grad():
            for mine, theirs in zip(self.averaged.module.buffers(), self.model.buffers(),
                                    strict=True):  # fmt: skip
                mine.copy_(theirs)
        return self.averaged.module

    def _validate(self, model: nn.Module) -> dict:
        """Validation metrics during training. Recommenders rank every item (``full_*``)
        only when that is the monitored metric: for a large catalogue it costs far more than
        the sampled metrics (the run's final evaluation computes both)."""
        full = self.config.monitor.startswith("val_full_")
        split = self.data.split("val")
        return evaluate(model, split, self.config.eval_batch_size, full_ranking=full)

    # ------------------------------------------------------------------ state
    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.config.mode == "max" else value < self.best

    def _reached_stop_at(self) -> bool:
        target = self.config.stop_at
        if target is None or self.best is None:
            return False
        return self.best >= target if self.config.mode == "max" else self.best <= target

    def resume(self) -> None:
        """Restore the last finished epoch from ``run_dir`` (a model with nothing to train has
        no epochs to restore: ``fit`` evaluates it again)."""
        if not self.trainable:
            return
        extra = load_training_state(
            self.run_dir, self.model, self.optimizer, self.scheduler, self.averaged
        )
        _check_resumed(extra, self.run_dir / "last.safetensors")
        self.history = extra["history"]
        self.best, self.best_epoch = extra["best"], extra["best_epoch"]
        self.bad_epochs = extra["bad_epochs"]
        self.patience_start = extra.get("patience_start", 0)  # absent in older checkpoints
        self.train_seconds = extra["train_seconds"]
        self.start_epoch = extra["epoch"] + 1
        self.partial = extra.get("partial")  # saved inside epoch start_epoch
        if self.partial is not None:
            log.info("resuming inside epoch %d at step %d", self.start_epoch, self.partial["step"])
        # metrics.jsonl may hold an epoch written after the last checkpoint: rewrite it.
        self._write_history()
        log.info("resumed %s after epoch %d", self.run_dir, extra["epoch"])

    def _write_history(self) -> None:
        lines = "".join(json.dumps(r) + "\n" for r in self.history)
        atomic_write_text(self.run_dir / "metrics.jsonl", lines)

    def _save(self, epoch: int, partial: dict | None = None) -> None:
        """The resumable checkpoint after ``epoch`` (the last finished one); ``partial``: the
        state inside the next epoch (a mid-epoch checkpoint)."""
        extra = {
            "epoch": epoch,
            "partial": partial,
            "history": self.history,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "patience_start": self.patience_start,
            "train_seconds": self.train_seconds,
        }
        save_training_state(
            self.run_dir, self.model, self.optimizer, self.scheduler, extra, self.averaged
        )

    # ------------------------------------------------------------------ loop
    def _train_epoch(self, epoch: int) -> dict:
        cfg = self.config
        self.model.train()
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        train = self.data.split("train")
        n_batches = math.ceil(len(train) / cfg.batch_size)
        batches = iterate_batches(train, cfg.batch_size, shuffle=True, generator=generator)
        bar = tqdm(
            batches,
            total=n_batches,
            desc=f"epoch {epoch}",
            leave=False,
            disable=None if cfg.progress else True,  # None: off when stderr is not a TTY
        )
        total_loss, correct, scored = 0.0, 0, 0
        skip, epoch_lr, epoch_offset = 0, self.optimizer.param_groups[0]["lr"], 0.0
        if self.partial is not None:  # resumed inside this epoch: the same batches follow
            skip, epoch_lr = self.partial["step"], self.partial["lr"]
            total_loss, correct, scored = self.partial["totals"]
            epoch_offset = self.partial["seconds"]
            self.partial = None
        started = time.perf_counter() - epoch_offset
        for step, batch in enumerate(bar, 1):
            if step <= skip:  # drawn (and augmented) as before, so what follows is the same
                continue
            scale = 1.0
            if self.world_size > 1:
                batch, scale = distributed.shard(batch, self.rank, self.world_size)
            batch = to_device(batch, self.device)
            with torch.autocast(
                self.device.type,
                torch.float16 if self.precision == "fp16" else torch.bfloat16,
                enabled=self.precision != "fp32",
            ):
                out = self.step_model(**model_inputs(batch))
            if out.loss is None:
                raise RuntimeError(f"{type(self.model).__name__} returned no loss for a batch")
            if not torch.isfinite(out.loss):
                raise FloatingPointError(
                    f"loss became {float(out.loss)} at epoch {epoch}; lower train.lr or set "
                    "train.clip_grad_norm"
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss = out.loss * scale if scale != 1.0 else out.loss
            if self.scaler is None:
                loss.backward()
            else:  # fp16: a scaled loss, gradients unscaled before clipping and the step
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            if cfg.clip_grad_norm is not None:
                clip_gradients(self.model.parameters(), cfg.clip_grad_norm, cfg.clip_mode)
            if self.scaler is None:
                self.optimizer.step()
            else:  # skips the step when a gradient overflowed, and adapts the scale
                self.scaler.step(self.optimizer)
                self.scaler.update()
            if self.averaged is not None:
                self.averaged.update_parameters(self.model)
            if cfg.scheduler == "warmup" and self.scheduler is not None:
                self.scheduler.step()
            fault_point("train:step")
            if scale == 0.0:  # a placeholder example (see distributed.shard): not counted
                continue
            targets = batch["targets"]
            if targets.is_floating_point():  # a forecast: the loss is a mean over windows
                hits, n_scored = None, len(targets)
            else:
                hits = out.logits.argmax(-1) == targets
                n_scored = len(targets)
            if hits is not None and out.logits.dim() == 3:  # per position: real tokens count
                real = targets != 0
                hits, n_scored = hits[real], int(real.sum())
            total_loss += out.loss.item() * n_scored  # the loss is a mean over these
            correct += int(hits.sum()) if hits is not None else 0
            scored += n_scored
            bar.set_postfix(loss=f"{total_loss / max(scored, 1):.4f}")
            if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < n_batches:
                partial = {"step": step, "lr": epoch_lr, "totals": [total_loss, correct, scored],
                           "seconds": time.perf_counter() - started}  # fmt: skip
                self._save(epoch - 1, partial)
        total_loss, correct, scored = distributed.all_reduce_sum([total_loss, correct, scored])
        scored = max(scored, 1)
        record = {"train_loss": total_loss / scored, "train_accuracy": correct / scored,
                  "lr": epoch_lr, "resumed_seconds": epoch_offset}  # fmt: skip
        if getattr(train, "task", None) == "forecasting":  # no classes: no accuracy
            del record["train_accuracy"]
        return record

    def fit(self) -> dict:
        """Train until ``epochs`` or early stopping; returns ``{"best": ..., "history": ...}``."""
        cfg = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        writer = _tensorboard_writer(self.run_dir)
        if not self.trainable:
            return self._fit_nothing()
        try:
            for epoch in range(self.start_epoch, cfg.epochs + 1):
                if cfg.early_stopping is not None and self.bad_epochs >= cfg.early_stopping:
                    break
                if self._reached_stop_at():
                    log.info("stopping: best %s %s reached train.stop_at", cfg.monitor, self.best)
                    break
                started = time.perf_counter()
                record = {"epoch": epoch, "lr": None}  # the epoch's first lr, set below
                record.update(self._train_epoch(epoch))
                # a resumed epoch counts the time it ran before it was stopped
                started -= record.pop("resumed_seconds")
                train_time = time.perf_counter() - started
                record["train_examples_per_second"] = round(
                    len(self.data.split("train")) / max(train_time, 1e-9), 1
                )
                # the time budget: stop after this epoch if another one would overrun it
                out_of_time = cfg.time_limit_minutes is not None and (
                    self.train_seconds + 2 * train_time > 60 * cfg.time_limit_minutes
                )
                evaluated = epoch % cfg.eval_every == 0 or epoch == cfg.epochs or out_of_time
                if evaluated:
                    val = self._validate(self.eval_model)
                    record.update({f"val_{k}": v for k, v in val.items() if isinstance(v, float)})
                self.train_seconds += time.perf_counter() - started
                record["seconds"] = round(self.train_seconds, 3)
                if evaluated:
                    self._judge(epoch, record)
                else:  # between validations: only the per-epoch schedules move
                    self._step_scheduler(None)
                self.history.append(record)
                self._write_history()
                self._save(epoch)
                log.info("%s", epoch_line(record))
                if writer is not None:
                    for key, v in record.items():
                        if key != "epoch" and isinstance(v, int | float):
                            writer.add_scalar(key, v, epoch)
                for callback in self.on_epoch_end:
                    callback(epoch, record)
                if out_of_time:
                    log.info("stopping after epoch %d: train.time_limit_minutes", epoch)
                    break
        finally:
            if writer is not None:
                writer.close()
        return {
            "best": {cfg.monitor: self.best, "epoch": self.best_epoch},
            "history": self.history,
            "train_seconds": self.train_seconds,
        }

    def _judge(self, epoch: int, record: dict) -> None:
        """After a validation: keep the best model, count epochs without improvement, let the
        model react (``epoch_end``) and step the schedule."""
        cfg = self.config
        if cfg.monitor not in record:
            raise KeyError(
                f"train.monitor {cfg.monitor!r} is not a recorded metric; "
                f"recorded: {', '.join(k for k in record if k != 'epoch')}"
            )
        value = record[cfg.monitor]
        if self._improved(value):
            self.best, self.best_epoch = value, epoch
            save_model(self.eval_model, self.run_dir / "model.safetensors")
        # after the best-model save, so a saved model matches the state it was evaluated in
        # (e.g. MemN2N's linear-start phase); epoch_end runs only after validations
        request = (
            self.model.epoch_end(epoch, record) if isinstance(self.model, EpochEndHook) else None
        )
        if request and request.get("restart_schedule"):
            self._restart_schedule()
            self.patience_start = epoch
        elif not (request and request.get("hold_schedule")):
            self._step_scheduler(value)
        # epochs, also when validating every N
        self.bad_epochs = epoch - max(self.best_epoch, self.patience_start)

    def _fit_nothing(self) -> dict:
        """No trainable parameters: one validation pass is the whole history."""
        started = time.perf_counter()
        val = self._validate(self.model)
        record = {"epoch": 1, **{f"val_{k}": v for k, v in val.items() if isinstance(v, float)}}
        self.train_seconds = time.perf_counter() - started
        record["seconds"] = round(self.train_seconds, 3)
        self.best, self.best_epoch = record.get(self.config.monitor), 1
        save_model(self.model, self.run_dir / "model.safetensors")
        self.history = [record]
        self._write_history()
        log.info("no trainable parameters: evaluated without training")
        return {
            "best": {self.config.monitor: self.best, "epoch": 1},
            "history": self.history,
            "train_seconds": self.train_seconds,
        }

    def _restart_schedule(self) -> None:
        """Back to the initial learning rate with a fresh schedule (a model's phase change)."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr
        self.scheduler = make_scheduler(self.config, self.optimizer)

    def _step_scheduler(self, monitored: float | None) -> None:
        """Once per epoch; ``monitored`` is None between validations (plateau then waits)."""
        if self.scheduler is None or self.config.scheduler == "warmup":  # stepped per batch
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            if monitored is not None:
                self.scheduler.step(monitored)
        else:
            self.scheduler.step()
