"""Atomic, pickle-free checkpoints: safetensors for tensors, JSON for everything else.

A training checkpoint is ``last.safetensors``: model weights, optimizer tensors and RNG
state, and in its metadata (key ``amkit.state``) the JSON of everything else (epoch,
optimizer hyper-parameters, scheduler state, early-stopping state, history). One file,
written atomically (temp file + ``os.replace``), so the tensors and the counters that go
with them are always of the same step: a run killed at any point resumes from a whole
checkpoint, the previous one or the new one. ``last.json`` is a readable copy of the JSON
part, written after it (and read only for checkpoints of older amkit versions, which kept
it there alone).
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from amkit.errors import UserError
from amkit.io import atomic_save_tensors, atomic_write_json, read_tensor_metadata, read_tensors
from amkit.textfile import read_json

log = logging.getLogger("amkit")

MODEL_PREFIX = "model."
OPTIM_PREFIX = "optim."
AVERAGED_PREFIX = "averaged."
STATE_KEY = "amkit.state"  # last.safetensors' metadata: the JSON half of the checkpoint


def save_model(model: nn.Module, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Save a model's ``state_dict`` as safetensors (atomic)."""
    atomic_save_tensors(path, dict(model.state_dict()), metadata)


def load_model(
    model: nn.Module, path: str | Path, what: str | None = None, partial: bool = False
) -> nn.Module:
    """Load weights saved by :func:`save_model` into ``model`` when every tensor has the
    model's name and shape; otherwise a ``ValueError`` listing the differences, nothing
    loaded. ``what`` (e.g. a config key) starts the error messages. ``partial``: tensors of
    the model missing from the file keep their values (the file's must all fit); they are
    logged."""
    path = Path(path)
    prefix = f"{what}: " if what else ""
    if not path.is_file():
        raise FileNotFoundError(f"{prefix}weights file not found: {path}")
    state = read_tensors(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    problems = [] if partial else [f"{k}: missing from {path.name}" for k in missing]
    problems += [f"{k}: not in the model" for k in state if k not in own]
    problems += [
        f"{k}: shape {tuple(state[k].shape)} in {path.name}, {tuple(v.shape)} in the model"
        for k, v in own.items()
        if k in state and state[k].shape != v.shape
    ]
    if problems:
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise UserError(
            f"{prefix}{path} does not fit {type(model).__name__}: "
            f"{'; '.join(problems[:5])}{more}; was it saved from a different config?"
        )
    model.load_state_dict(state, strict=not partial)
    if partial:
        kept = ", ".join(missing) or "none"
        log.info("%skept their fresh init (not in %s): %s", prefix, path.name, kept)
    return model


def _split_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer ``state_dict`` into tensors and JSON-able rest."""
    tensors: dict[str, torch.Tensor] = {}
    per_param: dict[str, dict[str, Any]] = {}
    for param_id, slots in state["state"].items():
        rest: dict[str, Any] = {}
        for name, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{OPTIM_PREFIX}{param_id}.{name}"] = value
            else:
                rest[name] = value
        per_param[str(param_id)] = rest
    return tensors, {"state": per_param, "param_groups": state["param_groups"]}


def _join_optimizer_state(tensors: dict[str, torch.Tensor], rest: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {int(k): dict(v) for k, v in rest["state"].items()}
    for key, value in tensors.items():
        if not key.startswith(OPTIM_PREFIX):
            continue
        param_id, name = key[len(OPTIM_PREFIX) :].split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    return {"state": state, "param_groups": rest["param_groups"]}


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Current torch / numpy / python RNG states as (tensors, JSON-able); with CUDA in use
    also every GPU's generator (``rng.cuda.N``), so a GPU run resumes its dropout exactly."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = state
    return (
        tensors,
        {
            "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
            "python": [py_state[0], list(py_state[1]), py_state[2]],
        },
    )


def set_rng_state(tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """Restore :func:`rng_state`'s states; GPU generators only where this machine has as
    many GPUs (a GPU run resumed on a CPU keeps the CPU's exactness)."""
    torch.set_rng_state(tensors["rng.torch"])
    cuda_keys = [k for k in tensors if k.startswith("rng.cuda.")]
    cuda = [tensors[k] for k in sorted(cuda_keys, key=lambda k: int(k.rsplit(".", 1)[1]))]
    if cuda and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all(cuda)
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save_training_state(
    run_dir: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    extra: dict[str, Any],
    averaged: nn.Module | None = None,
) -> None:
    """Write ``last.safetensors`` + ``last.json`` so training can resume exactly (with the
    moving average of the weights, ``averaged``, when training keeps one)."""
    run_dir = Path(run_dir)
    optim_tensors, optim_rest = _split_optimizer_state(optimizer.state_dict())
    rng_tensors, rng_rest = rng_state()
    tensors = {MODEL_PREFIX + k: v for k, v in model.state_dict().items()}
    tensors.update(optim_tensors)
    tensors.update(rng_tensors)
    if averaged is not None:
        tensors.update({AVERAGED_PREFIX + k: v for k, v in averaged.state_dict().items()})
    meta = {
        "optimizer": optim_rest,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": rng_rest,
        **extra,
    }
    # the JSON goes inside the tensors' file: one atomic rename makes the checkpoint whole
    atomic_save_tensors(run_dir / "last.safetensors", tensors, {STATE_KEY: json.dumps(meta)})
    atomic_write_json(run_dir / "last.json", meta)


def has_checkpoint(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a checkpoint to resume from (``last.safetensors``)."""
    return (Path(run_dir) / "last.safetensors").is_file()


def _unprefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose key starts with ``prefix``, keyed without it."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_training_state(
    run_dir: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any | None,
    averaged: nn.Module | None = None,
) -> dict[str, Any]:
    """Restore what :func:`save_training_state` wrote; returns the ``extra`` fields."""
    run_dir = Path(run_dir)
    tensor_path, meta_path = run_dir / "last.safetensors", run_dir / "last.json"
    if not has_checkpoint(run_dir):
        raise FileNotFoundError(
            f"{run_dir} has no resumable checkpoint (last.safetensors); "
            "was training started with this run directory?"
        )
    tensors = read_tensors(tensor_path)
    meta, source = _read_state(tensor_path, meta_path)
    try:
        model.load_state_dict(_unprefixed(tensors, MODEL_PREFIX))
        if averaged is not None:
            averaged_state = _unprefixed(tensors, AVERAGED_PREFIX)
            if not averaged_state:
                raise UserError(f"{tensor_path} holds no moving average of the weights to resume")
            averaged.load_state_dict(averaged_state)
        optimizer.load_state_dict(_join_optimizer_state(tensors, meta.pop("optimizer")))
        sched_state = meta.pop("scheduler")
        if scheduler is not None and sched_state is not None:
            scheduler.load_state_dict(sched_state)
        set_rng_state(tensors, meta.pop("rng"))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as error:
        if isinstance(error, UserError):
            raise
        raise UserError(
            f"{source} does not fit this run's model and optimizer ({type(error).__name__}: "
            f"{str(error)[:200]}); restore the run directory, or train into a new one"
        ) from None
    return meta


# the fields every checkpoint's JSON has (and their JSON types)
_STATE_FIELDS = {"optimizer": dict, "scheduler": (dict, type(None)), "rng": dict}


def _read_state(tensor_path: Path, meta_path: Path) -> tuple[dict[str, Any], Path]:
    """The JSON half of a checkpoint and the file it came from: ``last.safetensors``'
    metadata, or ``last.json`` for checkpoints written before the metadata held it."""
    stored = read_tensor_metadata(tensor_path).get(STATE_KEY)
    if stored is not None:
        try:
            meta, source = json.loads(stored), tensor_path
        except (json.JSONDecodeError, RecursionError):
            raise UserError(f"{tensor_path}: its {STATE_KEY} metadata is not valid JSON") from None
    else:
        meta, source = read_json(meta_path, fix="restore it, or train into a new run"), meta_path
    if not isinstance(meta, dict):
        raise UserError(f"{source}: the checkpoint state is not a JSON object")
    for key, kind in _STATE_FIELDS.items():
        if not isinstance(meta.get(key), kind):
            raise UserError(f"{source}: key {key!r} is missing or malformed; {_RESTART}")
    return meta, source


_RESTART = "restore the run directory, or train into a new one"
