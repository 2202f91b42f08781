"""The GPU check: the test suite on CUDA, attention against bare SDPA, and timed epochs of three
real trainings, written to ``docs/benchmarks/gpu.{json,md}``.

    bash benchmarks/gpu_check.sh                 # on a machine with a CUDA GPU, offline
    python benchmarks/gpu_check.py --smoke       # every step's code on the CPU, tiny sizes

Designed to finish in under 10 minutes on one GPU, set-up included. Needs a checkout and an
``AMKIT_DATA`` folder holding ``babi``, ``imdb`` and ``multi30k`` (about 29 MB). Without a
GPU it writes a page that says so and gives the command. ``--smoke`` runs the same code on
the CPU with tiny sizes and generated data (it checks the script, it measures nothing).

What it measures:

- the test suite with ``train.device: auto`` (so every training test runs on the GPU);
- :class:`amkit.attention.MultiHeadAttention`'s fused path against bare
  ``scaled_dot_product_attention`` at T = 4096 in bfloat16 (flash attention), forward and
  backward, median of 20;
- two training epochs each of MemN2N on bAbI 10k joint, the IMDB region CNN and the Multi30k
  Transformer with their shipped configs; the page sets the GPU's seconds per epoch beside
  this project's 2-core CPU numbers (``CPU_EPOCH_SECONDS``, from ``docs/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "bash benchmarks/gpu_check.sh"
# seconds per training epoch on this project's 2-core CPU, from the runs in docs/results
# (one thread, beside other jobs): the run's time over its epochs
CPU_EPOCH_SECONDS = {
    "memn2n_babi_10k_joint": 78 * 60 / 90,  # babi.json amkit-memn2n-10k-joint: 78 min, 90 epochs
    "region_cnn_imdb": 1254.2 / 8,  # imdb.json region-cnn: 1254 s, 8 epochs
    "transformer_multi30k": 5075.1 / 12,  # multi30k.json transformer: 5075 s, 12 epochs
}
TRAININGS = {
    "memn2n_babi_10k_joint": ("babi/memn2n_10k_joint", []),
    "region_cnn_imdb": ("imdb/region_cnn", []),
    "transformer_multi30k": ("multi30k/transformer", ["train.precision=bf16"]),
}


def device_info() -> dict:
    if torch.cuda.is_available():
        return {
            "device": torch.cuda.get_device_name(0),
            "cuda": torch.version.cuda,
            "torch": torch.__version__,
        }
    return {"device": "none", "cuda": None, "torch": torch.__version__}


def run_tests(timeout_s: int) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    last = (done.stdout.strip().splitlines() or [""])[-1]
    return {
        "passed": done.returncode == 0,
        "summary": last,
        "seconds": round(time.perf_counter() - started, 1),
    }


def time_attention(device: torch.device, t: int, dtype: torch.dtype, repeats: int) -> dict:
    """Median ms of forward + backward: amkit's fused path and bare SDPA, same shapes."""
    from amkit.attention import MultiHeadAttention

    b, d, h = 4, 512, 8
    mha = MultiHeadAttention(d, h).to(device, dtype)
    x = torch.randn(b, t, d, device=device, dtype=dtype, requires_grad=True)

    def ours():
        mha(x)[0].sum().backward()

    dh = d // h

    def bare():  # the same projections around bare SDPA: the attention alone differs
        q, k, v = (
            proj(x).view(b, t, h, dh).transpose(1, 2)
            for proj in (mha.q_proj, mha.k_proj, mha.v_proj)
        )  # (B, H, T, Dh)
        context = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, d)
        mha.out_proj(context).sum().backward()

    def median_ms(step) -> float:
        for _ in range(3):
            step()
        times = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(1e3 * (time.perf_counter() - start))
        return statistics.median(times)

    amkit_ms, sdpa_ms = median_ms(ours), median_ms(bare)
    return {
        "T": t,
        "dtype": str(dtype).removeprefix("torch."),
        "amkit_fast_ms": round(amkit_ms, 3),
        "bare_sdpa_ms": round(sdpa_ms, 3),
        "ratio": round(amkit_ms / sdpa_ms, 3),
    }


def time_epochs(
    name: str, config: str | dict, overrides: list[str], device: str, out: Path, epochs: int
) -> dict:
    """Seconds per training epoch (validation excluded) of ``config`` on ``device``."""
    import shutil

    import amkit

    shutil.rmtree(out / name, ignore_errors=True)  # scratch runs: measured afresh each time
    sets = [
        *overrides,
        f"train.epochs={epochs}",
        f"train.device={device}",
        "train.progress=false",
        "train.early_stopping=null",
    ]
    result = amkit.run(config, run_dir=out / name, overrides=sets)
    train_seconds = [r["seconds"] for r in result.history]
    per_epoch = [b - a for a, b in zip([0.0, *train_seconds], train_seconds, strict=False)]
    row = {"epochs": len(per_epoch), "seconds_per_epoch": round(statistics.median(per_epoch), 2)}
    cpu = CPU_EPOCH_SECONDS.get(name)
    if cpu is not None and device != "cpu":
        row["cpu_seconds_per_epoch"] = round(cpu, 1)
        row["speedup"] = round(cpu / row["seconds_per_epoch"], 1)
    return row


def render(data: dict) -> str:
    s = data["summary"]
    lines = [
        "# GPU check",
        "",
        "<!-- generated by benchmarks/gpu_check.py from gpu.json; do not edit by hand -->",
        "",
        f"Command: `{COMMAND}` (offline; needs `AMKIT_DATA` with babi, imdb, multi30k).",
        "",
    ]
    if "attention" not in data:
        lines += [
            "**No GPU was available** when this page was written: nothing was measured on "
            "a GPU. Run the command above on a machine with a CUDA GPU to fill this page "
            "(about 10 minutes, set-up included).",
            "",
        ]
        return "\n".join(lines)
    lines += [
        f"Device: **{s['device']}** (CUDA {data['info']['cuda']}, torch "
        f"{data['info']['torch']}); {data['date']}.",
        "",
    ]
    if data.get("smoke"):
        lines += [
            "**Smoke run** (`--smoke`): the CPU with tiny sizes; it checks the script and "
            "measures nothing.",
            "",
        ]
    tests = data.get("tests")
    if tests:
        lines += [
            f"- Test suite on the GPU: {'passed' if tests['passed'] else 'FAILED'} "
            f"({tests['summary']}; {tests['seconds']} s).",
            "",
        ]
    a = data["attention"]
    lines += [
        f"- Attention at T = {a['T']} ({a['dtype']}), forward + backward: amkit fused "
        f"{a['amkit_fast_ms']} ms, bare SDPA {a['bare_sdpa_ms']} ms (ratio {a['ratio']}).",
        "",
        "| training | s / epoch (GPU) | s / epoch (2-core CPU) | speed-up |",
        "|---|--:|--:|--:|",
    ]
    for name, row in data["trainings"].items():
        lines.append(
            f"| {name} | {row.get('seconds_per_epoch', row.get('error', ''))} | "
            f"{row.get('cpu_seconds_per_epoch', '')} | {row.get('speedup', '')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"))
    parser.add_argument("--runs", default="runs/gpu-check", help="where the timed runs go")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny sizes: checks the code")
    args = parser.parse_args(argv)
    out = Path(args.out)
    info = device_info()
    data = {
        "info": info,
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.node(),
        "summary": {"device": info["device"]},
    }
    if info["device"] == "none" and not args.smoke:
        data["note"] = "no CUDA GPU: nothing measured"
    else:
        data["smoke"] = args.smoke
        device = torch.device("cuda" if not args.smoke else "cpu")
        if not args.skip_tests and not args.smoke:
            data["tests"] = run_tests(timeout_s=300)
        t, dtype = (4096, torch.bfloat16) if not args.smoke else (64, torch.float32)
        data["attention"] = time_attention(device, t, dtype, repeats=20 if not args.smoke else 3)
        trainings = {}
        todo = (
            TRAININGS
            if not args.smoke
            else {
                "recall_smoke": (
                    "demo/recall",
                    ["data.n_train=64", "data.n_val=16", "data.n_test=16", "model.d_model=8"],
                )
            }
        )
        for name, (config, overrides) in todo.items():
            try:
                trainings[name] = time_epochs(
                    name, config, overrides, device.type, Path(args.runs), args.epochs
                )
            except Exception as error:  # a missing dataset: the others still run
                trainings[name] = {"error": f"{type(error).__name__}: {error}"}
        data["trainings"] = trainings
        data["summary"].update(
            attention_ratio=data["attention"]["ratio"],
            **{f"{k}_seconds_per_epoch": v.get("seconds_per_epoch") for k, v in trainings.items()},
        )
    out.mkdir(parents=True, exist_ok=True)
    stem = "gpu" if not args.smoke else "gpu-smoke"
    (out / f"{stem}.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (out / f"{stem}.md").write_text(render(data), encoding="utf-8")
    print(f"wrote {out / stem}.json and .md (device: {data['summary']['device']})")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    sys.exit(main())
