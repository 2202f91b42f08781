"""Data-parallel training with PyTorch's own engine: ``torchrun`` + DistributedDataParallel.

    amkit train CONFIG --out DIR --nproc 2

relaunches the same command under ``python -m torch.distributed.run --standalone
--nproc_per_node 2`` (gloo on CPU; on CUDA GPUs NCCL, one GPU per
process). Every process builds the same data and
model (DDP broadcasts rank 0's weights), walks the same shuffled global batches and takes
its own slice of each (:func:`shard`); DDP averages the gradients. Each slice's loss is
scaled by ``world * n_local / n_global`` so that average is exactly the gradient of the
global batch's mean loss -- the result equals a single-process run with the same
``train.batch_size`` up to float rounding (a test checks it, about 10 s). Only rank 0 writes the run
directory; the other ranks write into a temporary folder that is removed at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import Tensor

from amkit.errors import UserError


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process; ``(0, 1)`` outside ``torchrun``."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def process_device(device: torch.device) -> torch.device:
    """This process's device: under ``torchrun`` on CUDA, GPU ``LOCAL_RANK`` (made current,
    so NCCL and every default CUDA allocation use it); otherwise ``device`` itself."""
    _, size = world()
    if size > 1 and device.type == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return device


def init_process_group(device: torch.device | None = None) -> None:
    """Join the process group ``torchrun`` set up (no-op for a single process): NCCL for
    processes on CUDA GPUs, gloo on the CPU."""
    _, size = world()
    if size > 1 and not dist.is_initialized():
        on_gpu = device is not None and device.type == "cuda"
        dist.init_process_group("nccl" if on_gpu else "gloo")


def finish() -> None:
    """Leave the process group (no-op for a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(batch: dict[str, Tensor], rank: int, size: int) -> tuple[dict[str, Tensor], float]:
    """This rank's contiguous slice of a global batch and its loss scale
    ``size * n_local / n_global``. A rank left without examples (a last batch smaller than
    the world) gets one example with scale 0, so every rank still joins the all-reduce."""
    n = len(next(iter(batch.values())))
    parts = torch.arange(n).tensor_split(size)
    index = parts[rank]
    if len(index) == 0:
        return {k: v[:1] for k, v in batch.items()}, 0.0
    return {k: v[index] for k, v in batch.items()}, size * len(index) / n


def all_reduce_sum(values: Sequence[float]) -> list[float]:
    """Sum numbers over all ranks (identity for a single process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return list(values)
    # NCCL reduces GPU tensors only: on this process's GPU then
    on_gpu = dist.get_backend() == "nccl"
    device = torch.device("cuda", torch.cuda.current_device()) if on_gpu else torch.device("cpu")
    tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def launch(
    argv: Sequence[str],
    nproc: int,
    nnodes: int = 1,
    node_rank: int = 0,
    master_addr: str | None = None,
    master_port: int = 29500,
) -> int:
    """Run ``amkit <argv>`` in ``nproc`` processes under torchrun; returns its exit code.

    One machine: torchrun ``--standalone``. Several (``nnodes > 1``): run the same command on
    every machine with its own ``node_rank`` (0 on the machine at ``master_addr``), which
    torchrun's static rendezvous joins at ``master_addr:master_port``."""
    if nnodes > 1:
        if not master_addr:
            raise UserError("--nnodes > 1 needs --master-addr (the address of node 0)")
        if not 0 <= node_rank < nnodes:
            raise UserError(f"--node-rank {node_rank}: expected 0 to {nnodes - 1} (--nnodes)")
        where = [f"--nnodes={nnodes}", f"--node_rank={node_rank}",
                 f"--master_addr={master_addr}", f"--master_port={master_port}"]  # fmt: skip
    else:
        where = ["--standalone"]
    command = [
        sys.executable, "-m", "torch.distributed.run", *where,
        f"--nproc_per_node={nproc}", "-m", "amkit.cli", *argv,
    ]  # fmt: skip
    threads = max(1, (os.cpu_count() or 1) // nproc)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads))}
    return subprocess.run(command, env=env, check=False).returncode
