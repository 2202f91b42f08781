"""Which device a job runs on: ``auto | cpu | cuda | cuda:N | mps``, checked against the
machine, and moving batches there.

``auto`` is the first CUDA GPU when PyTorch sees one, else the CPU. A device the machine
lacks is a :class:`~amkit.errors.UserError` that names the option and what the machine has.
Weights and checkpoints are always read to the CPU first and then copied into the model on
its device, so a run trained on a GPU evaluates, explains and resumes on a CPU-only machine
and the other way round.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from amkit.errors import UserError

__all__ = ["cpu_model", "describe_device", "model_device", "resolve_device", "to_device"]

CHOICES = "auto, cpu, cuda, cuda:N or mps"


def _what_this_machine_has() -> str:
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        return f"{n} CUDA GPU(s): " + ", ".join(f"cuda:{i}" for i in range(n))
    mps = getattr(torch.backends, "mps", None)
    extra = " and mps" if mps is not None and mps.is_available() else ""
    return f"no CUDA GPU (torch {torch.__version__}, CUDA build: {torch.version.cuda}); cpu{extra}"


def resolve_device(requested: str | torch.device, option: str = "train.device") -> torch.device:
    """The ``torch.device`` that ``requested`` means on this machine.

    Raises:
        UserError: an unknown name, or a device this machine does not have; the message
            names ``option`` and lists what the machine has.
    """
    text = str(requested).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UserError(f"{option}: mps, but this machine has {_what_this_machine_has()}")
        return torch.device("mps")
    if text == "cuda" or text.startswith("cuda:"):
        index_text = text.partition(":")[2] or "0"
        if not index_text.isdigit():
            raise UserError(f"{option}: {requested!r} is not a device; use {CHOICES}")
        if not torch.cuda.is_available():
            raise UserError(
                f"{option}: {requested}, but this machine has {_what_this_machine_has()}"
            )
        index = int(index_text)
        if index >= torch.cuda.device_count():
            raise UserError(
                f"{option}: {requested}, but this machine has {_what_this_machine_has()}"
            )
        return torch.device("cuda", index)
    raise UserError(f"{option}: {requested!r} is not a device; use {CHOICES}")


def describe_device(device: torch.device) -> dict[str, str]:
    """``{"device", "device_name"}`` for ``metrics.json``: e.g. ``cuda:0`` and the card's
    name, or ``cpu`` and the processor."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return {"device": f"cuda:{index}", "device_name": torch.cuda.get_device_name(index)}
    return {"device": str(device), "device_name": cpu_model()}


def cpu_model() -> str:
    """The ``model name`` line of ``/proc/cpuinfo`` (or ``platform.processor()``)."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (the CPU for an empty model)."""
    for tensor in [*model.parameters(), *model.buffers()]:
        return tensor.device
    return torch.device("cpu")


def to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """A batch's tensors on ``device``; other values as they are. On the CPU the batch is
    returned unchanged. For CUDA, CPU tensors are copied into pinned (page-locked) memory
    first, as a ``DataLoader`` with ``pin_memory=True`` does, so the ``non_blocking`` copy
    overlaps with the computation of the previous batch."""
    if device.type == "cpu":
        return dict(batch)
    pin = device.type == "cuda"
    return {k: _moved(v, device, pin) if isinstance(v, Tensor) else v for k, v in batch.items()}


def _moved(tensor: Tensor, device: torch.device, pin: bool) -> Tensor:
    if pin and tensor.device.type == "cpu":
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)
