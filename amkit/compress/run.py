"""``amkit compress RUN_DIR --method quantize|prune --amount 0.5 --out DIR``.

Writes a normal run directory that ``amkit evaluate``, ``translate`` and ``explain`` accept:
``config.yaml`` (the source run's, plus a ``compress`` section), ``model.safetensors``, the
source run's data files (vocabulary, sentencepiece model), and ``metrics.json`` with the
val/test metrics of the compressed model, its size and sparsity next to the original's.
A quantized run keeps the float weights on disk (safetensors stores no quantized dtypes)
and is re-quantized when loaded -- dynamic quantization is deterministic.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from amkit.compress.methods import (
    CompressConfig,
    prune_magnitude,
    quantize_dynamic,
    sparsity,
    weight_bytes,
)
from amkit.errors import UserError
from amkit.io import atomic_copy, atomic_write_json, atomic_write_text
from amkit.train.checkpoint import save_model


def compress_run(
    run_dir: str | Path, method: str, amount: float, out: str | Path, device: str = "cpu"
) -> dict[str, Any]:
    """Compress the best model of ``run_dir`` into the run directory ``out``; its metrics,
    evaluated on ``device`` (int8 dynamic quantization is a CPU kernel: a quantized model
    runs on the CPU, and another explicit device is an error)."""
    from amkit.experiments.loading import INFO_FILE
    from amkit.experiments.run import load_run
    from amkit.train.metrics import evaluate

    run_dir, out = Path(run_dir), Path(out)
    if method not in ("quantize", "prune"):
        raise UserError(f"--method must be quantize or prune, got {method!r}")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: choose another --out")
    if method == "quantize" and device not in ("auto", "cpu"):
        raise UserError(
            f"--device {device}: int8 dynamic quantization runs on the CPU only; use "
            "--device cpu, or --method prune"
        )
    cfg, model, data = load_run(run_dir, device="cpu" if method == "quantize" else device)
    if cfg.compress.method != "none":
        raise UserError(f"{run_dir} is already compressed ({cfg.compress.method})")
    original_bytes = weight_bytes(model)
    if method == "prune":
        compressed = prune_magnitude(model, amount)
        saved = compressed
    else:
        saved = model  # float weights on disk; the quantized model is rebuilt at load
        compressed = quantize_dynamic(model)
    out.mkdir(parents=True, exist_ok=True)
    save_model(saved, out / "model.safetensors")
    for name in [*data.files, INFO_FILE]:  # what amkit.load needs besides the weights
        if (run_dir / name).is_file():
            atomic_copy(run_dir / name, out / name)
    cfg.compress = CompressConfig(method=method, amount=amount if method == "prune" else 0.5)
    atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    started = time.perf_counter()
    metrics: dict[str, Any] = {"seed": cfg.seed, "source_run": str(run_dir)}
    for split in ("val", "test"):
        if split in data.splits:
            metrics[split] = evaluate(compressed, data.split(split), cfg.train.eval_batch_size)
    metrics["compression"] = {
        "method": method,
        "amount": amount if method == "prune" else None,
        "sparsity": round(sparsity(compressed), 4) if method == "prune" else None,
        "weight_bytes": weight_bytes(compressed),
        "original_weight_bytes": original_bytes,
    }
    metrics["timings"] = {"train_seconds": 0.0,
                          "evaluate_seconds": round(time.perf_counter() - started, 3)}  # fmt: skip
    atomic_write_json(out / "metrics.json", metrics)
    return metrics
