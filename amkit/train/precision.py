"""Which floating-point precision a CPU training run uses.

``bf16`` (CPU autocast to bfloat16) pays only where the CPU multiplies bfloat16 natively
(avx512_bf16 or AMX). Elsewhere PyTorch emulates it and every matrix product gets slower:
on an AMD EPYC with AVX2 only, a (1024 x 256) @ (256 x 8000) product took 1.04 s in
bfloat16 against 0.145 s in float32 (one thread). ``auto`` picks for the machine it runs on.
"""

from __future__ import annotations

import logging

import torch

from amkit.errors import UserError

log = logging.getLogger("amkit")


def native_bf16() -> bool:
    """True when this CPU multiplies bfloat16 in hardware (avx512_bf16 or AMX tiles)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def resolve_precision(requested: str, device: torch.device | None = None) -> str:
    """``fp32`` | ``bf16`` | ``fp16`` | ``auto`` -> the precision to train in on ``device``
    (default the CPU).

    On a CPU ``auto`` is ``bf16`` where bfloat16 is native and ``fp32`` elsewhere; an explicit
    ``bf16`` is kept but warns when the CPU would emulate it; ``fp16`` is an error (CPU
    autocast has no float16 speed-up). On a CUDA GPU ``auto`` is ``bf16`` where the GPU
    supports it (Ampere and later), else ``fp32``; ``bf16`` on a GPU without it is an error."""
    device = device or torch.device("cpu")
    if device.type == "cuda":
        supported = torch.cuda.is_bf16_supported()
        if requested == "auto":
            return "bf16" if supported else "fp32"
        if requested == "bf16" and not supported:
            name = torch.cuda.get_device_name(device)
            raise UserError(f"train.precision: bf16, but {name} has no bfloat16; use fp16 or auto")
        return requested
    if requested == "fp16":
        raise UserError(
            f"train.precision: fp16 runs on CUDA GPUs only (this run is on {device}); "
            "use bf16, fp32 or auto"
        )
    if requested == "auto":
        return "bf16" if native_bf16() else "fp32"
    if requested == "bf16" and not native_bf16():
        log.warning(
            "train.precision: bf16 on a CPU without avx512_bf16 or AMX: bfloat16 is emulated "
            "and matrix products run several times slower than fp32; use precision: auto"
        )
    return requested
