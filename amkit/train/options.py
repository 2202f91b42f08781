"""How to train: :class:`TrainConfig` (the ``train:`` section of a config), the optimizer,
the learning-rate schedule, gradient clipping, and the one-line epoch summary.

The :class:`~amkit.train.trainer.Trainer` builds its optimizer and schedule from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from amkit.config import option

__all__ = ["TrainConfig", "clip_gradients", "epoch_line", "make_optimizer", "make_scheduler"]


@dataclass
class TrainConfig:
    """How to train. Defaults are a sensible Adam setup; task configs set their paper's."""

    epochs: int = option(20, ge=1)
    batch_size: int = option(32, ge=1)
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: float = option(1e-3, gt=0)
    momentum: float = option(0.0, ge=0, lt=1)
    weight_decay: float = option(0.0, ge=0)
    # Adam / AdamW's second-moment decay; SASRec's and the Transformer's authors use 0.98
    adam_beta2: float = option(0.999, gt=0, lt=1)
    # warmup: per optimizer step, linear warm-up over warmup_steps then 1/sqrt(step) decay
    # (Vaswani et al. 2017's schedule, peak = lr); the others step once per epoch
    scheduler: Literal["none", "step", "cosine", "plateau", "warmup"] = "none"
    warmup_steps: int = option(4000, ge=1)
    step_size: int = option(25, ge=1)  # epochs between decays for scheduler=step
    gamma: float = option(0.5, gt=0, le=1)  # decay factor for step and plateau
    patience: int = option(5, ge=0)  # plateau scheduler: epochs without improvement
    clip_grad_norm: float | None = option(None, gt=0)
    # global: one norm over all parameters (torch's clip_grad_norm_); per_parameter: each
    # weight matrix clipped on its own, as MemN2N's released code did
    clip_mode: Literal["global", "per_parameter"] = "global"
    early_stopping: int | None = option(None, ge=1)  # stop after N epochs without improvement
    # stop once the best monitored value reaches this (e.g. val_accuracy 1.0, which cannot
    # improve: early stopping would wait its patience out for nothing)
    stop_at: float | None = None
    monitor: str = "val_accuracy"
    mode: Literal["max", "min"] = "max"
    eval_batch_size: int = option(256, ge=1)
    # validate (and pick the best model, count early stopping) every N epochs and after the
    # last; SASRec's own code validates every 20 epochs
    eval_every: int = option(1, ge=1)
    # a training-time budget: stop (after validating) at the end of the epoch when another
    # epoch as long as the last would overrun it; resumed runs count their earlier time
    time_limit_minutes: float | None = option(None, gt=0)
    # validate and save an exponential moving average of the weights, updated after every
    # optimizer step: avg = decay * avg + (1 - decay) * weights (Polyak averaging; helps
    # models trained on a short budget, e.g. Transformers). None: the weights themselves
    ema_decay: float | None = option(None, gt=0, lt=1)
    # auto: the first CUDA GPU when there is one, else the CPU; or cpu, cuda, cuda:N, mps
    # (amkit.train.device). A run trained on one device evaluates and resumes on another
    device: str = "auto"
    # bf16: the training forward runs under autocast (matrix products in bfloat16; the
    # weights, gradients, optimizer, losses and softmaxes stay float32). On a CPU faster only
    # with avx512_bf16 or AMX (Multi30k Transformer: 1.7x per batch on one); emulated
    # elsewhere and several times slower. fp16: CUDA autocast to float16 with a gradient
    # scaler (GPUs only). auto: bf16 where the CPU or GPU has it natively, else fp32
    # (amkit.train.precision). Validation and test always run in float32
    precision: Literal["fp32", "bf16", "fp16", "auto"] = "fp32"
    # compile the model's recurrent step with torch.compile (models with ``compile_steps``:
    # entnet); needs a C++ compiler; the first batches of new shapes are slow while it compiles
    compile: bool = False
    # start from the weights of a finished run (its model.safetensors; a run directory or
    # the file) instead of a fresh initialisation: fine-tuning, curricula. The model must
    # have the same shapes and the data the same vocabulary (checked); the optimizer and
    # schedule start afresh. A resumed run continues from its own last epoch instead
    init_from: str | None = None
    # with init_from: the model may have tensors the source lacks (a knowledge module added
    # to a trained plain model); they keep their fresh init and are logged. Every tensor
    # the source has must still be in the model with its shape
    init_partial: bool = False
    # also save the resumable checkpoint (last.*) every N optimizer steps inside an epoch, so
    # a kill loses at most N steps, not an epoch; the resumed run is the same as one never
    # stopped (the epoch's batch order, the random state and the running totals are kept).
    # None: at the end of each epoch only
    checkpoint_every: int | None = option(None, ge=1)
    progress: bool = True

    def validate(self) -> list[str]:
        device = self.device.strip().lower()
        if device not in ("auto", "cpu", "cuda", "mps") and not (
            device.startswith("cuda:") and device[5:].isdigit()
        ):
            return [f"device: {self.device!r} is not a device; use auto, cpu, cuda, cuda:N or mps"]
        if not self.monitor.startswith(("val_", "train_")):
            return [f"monitor: {self.monitor!r} must start with 'val_' or 'train_'"]
        if self.init_partial and not self.init_from:
            return ["init_partial: true needs init_from (the run to start from)"]
        return []


def epoch_line(record: dict) -> str:
    """One epoch's record as a log line; ``-`` for the validation of unvalidated epochs."""

    def value(key: str) -> str:
        return f"{record[key]:.4f}" if key in record else "-"

    if "val_mse" in record:  # a forecaster: no accuracy
        return (
            f"epoch {record['epoch']}  train_loss {value('train_loss')}  "
            f"val_mse {value('val_mse')}  val_mae {value('val_mae')}  "
            f"({record['seconds']:.1f}s)"
        )
    return (
        f"epoch {record['epoch']}  train_loss {value('train_loss')}  "
        f"train_acc {value('train_accuracy')}  val_loss {value('val_loss')}  "
        f"val_acc {value('val_accuracy')}  ({record['seconds']:.1f}s)"
    )


def clip_gradients(params, max_norm: float, mode: str = "global") -> None:
    """Clip gradients to ``max_norm``: one norm over all of them, or each tensor on its own."""
    if mode == "global":
        nn.utils.clip_grad_norm_(params, max_norm)
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])  # one per tensor
    factors = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for grad, factor in zip(grads, factors.unbind(), strict=True):
        grad.mul_(factor)


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    """Adam and AdamW use torch's fused kernels (one pass per tensor instead of a dozen:
    8x faster steps on a 27M-parameter embedding table on one CPU thread, the same update
    up to float rounding); their betas are ``(0.9, adam_beta2)``."""
    betas = (0.9, cfg.adam_beta2)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    if cfg.optimizer == "adam":
        return torch.optim.Adam(
            params, lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay, fused=True
        )
    if cfg.optimizer == "rmsprop":  # the DNC paper's optimizer
        return torch.optim.RMSprop(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    return torch.optim.AdamW(
        params, lr=cfg.lr, betas=betas, weight_decay=cfg.weight_decay, fused=True
    )


def make_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer):
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, cfg.step_size, gamma=cfg.gamma)
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    if cfg.scheduler == "warmup":
        warmup = cfg.warmup_steps

        def factor(done: int) -> float:  # done: optimizer steps taken so far
            step = done + 1
            return min(step / warmup, (warmup / step) ** 0.5)

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if cfg.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=cfg.mode, factor=cfg.gamma, patience=cfg.patience
        )
    return None
