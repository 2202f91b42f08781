"""Attention benchmark: forward+backward time, peak memory and GFLOP/s on CPU.

Run ``amkit bench attention`` (or ``python benchmarks/attention.py``). Every (case, T) runs in
its own subprocess (``python -m amkit.bench.attention --case NAME --T N``) so the peak RSS it
reports is that case's own. Results go to ``<out>/attention.json`` (raw numbers, machine,
command) and ``<out>/attention.md`` (generated from the JSON by :mod:`amkit.bench.report`).

Cases, all self-attention in float32, train mode, dropout 0, input requiring grad:

- ``amkit_fast``: :class:`~amkit.attention.MultiHeadAttention` with ``need_weights=False``.
- ``amkit_weights``: the same block with ``need_weights=True`` (per-head weights).
- ``torch_mha_noweights`` / ``torch_mha_weights``: ``torch.nn.MultiheadAttention``
  (``batch_first=True``) with ``need_weights=False`` / its default ``True`` (head-averaged).
- ``bare_sdpa``: four ``nn.Linear`` and an inline SDPA call, the ideal for ``amkit_fast``.
- ``naive``: four ``nn.Linear`` and matmul-softmax-matmul (nanoGPT style), the reference
  for ``amkit_weights``.

Legend: B batch, T sequence length, D d_model, H heads, Dh = D / H.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from amkit.bench import machine, report
from amkit.errors import UserError

logger = logging.getLogger(__name__)

BATCH, D_MODEL, N_HEADS = 8, 512, 8
THREADS = 2
CASES = (  # a reference runs right before the case measured against it, under similar load
    "bare_sdpa",
    "amkit_fast",
    "naive",
    "amkit_weights",
    "torch_mha_noweights",
    "torch_mha_weights",
)
LINEAR_CASES = ("bare_sdpa", "amkit_fast")  # also run at LINEAR_EXTRA_T to show memory ~ T
QUADRATIC_CASES = ("naive", "amkit_weights", "torch_mha_weights")  # materialise (B, H, T, T)
LINEAR_EXTRA_T = 8192
DEFAULT_LENGTHS = (128, 512, 2048, 4096)
QUICK_LENGTHS = (64, 128)
MATMUL_N = 2048
# Peak live copies of a (B, H, T, T) float32 tensor in forward+backward of a weights path:
# scores, softmax output (saved, and returned), its grad, the grad of the scores. Measured
# 3.2-3.4 at T = 2048 (including the linear part); 4 keeps a margin.
SCORE_COPIES = 4
# Peak live (B, T, D) float32 activations of a fused path (inputs, q/k/v, context, output
# and their grads, plus fixed workspaces), measured as 11-13 at T = 1024..2048; doubled to
# stay on the safe side.
ACTIVATION_COPIES = 24
CHILD_TIMEOUT_S = 3600
# Shared machine: start a case only when at most this fraction of all CPUs is busy (waiting
# at most QUIET_WAIT_S), and rerun a case whose own CPU use shows it was starved.
QUIET_BUSY_MAX = 0.2
QUIET_WAIT_S = 120.0
STARVED_UTIL = 0.85 * THREADS
MAX_ATTEMPTS = 3


# ------------------------------------------------------------------------ sizes and FLOPs
def forward_flops(t: int, b: int = BATCH, d: int = D_MODEL) -> int:
    """Model FLOPs of one forward: four ``D x D`` projections plus ``QK^T`` and ``AV``."""
    return 2 * b * t * d * d * 4 + 2 * 2 * b * t * t * d


def step_flops(t: int) -> int:
    """Forward+backward FLOPs, counting backward as twice the forward."""
    return 3 * forward_flops(t)


def estimate_gb(case: str, t: int) -> float:
    """Rough peak extra memory of one forward+backward step, in GB (1e9 bytes)."""
    linear = ACTIVATION_COPIES * BATCH * t * D_MODEL * 4
    quadratic = SCORE_COPIES * BATCH * N_HEADS * t * t * 4 if case in QUADRATIC_CASES else 0
    return (linear + quadratic) / 1e9


def repeats_for(t: int, quick: bool) -> tuple[int, int]:
    """``(warmup, repeats)``: fewer timed steps where one step takes seconds."""
    if quick:
        return 1, 3
    return (2, 20) if t <= 512 else (1, 3)  # a step takes < 0.5 s up to T = 512


# ------------------------------------------------------------------------ the child process
def _build_step(case: str, t: int) -> tuple[Callable[[Any], tuple[Any, Any]], list]:
    """The module under test as ``step(x) -> (out, weights)`` and its parameters."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from amkit.attention import MultiHeadAttention

    b, d, h = BATCH, D_MODEL, N_HEADS
    dh = d // h
    if case in ("amkit_fast", "amkit_weights"):
        block = MultiHeadAttention(d, h)
        need = case == "amkit_weights"
        return (lambda x: block(x, need_weights=need)), list(block.parameters())
    if case in ("torch_mha_noweights", "torch_mha_weights"):
        block = nn.MultiheadAttention(d, h, batch_first=True)
        if case == "torch_mha_weights":  # the default call: need_weights=True, head-averaged
            return (lambda x: block(x, x, x)), list(block.parameters())
        return (lambda x: block(x, x, x, need_weights=False)), list(block.parameters())
    if case not in ("bare_sdpa", "naive"):
        raise UserError(f"unknown case {case!r}; known: {', '.join(CASES)} and 'matmul'")
    proj = nn.ModuleDict({n: nn.Linear(d, d) for n in ("q", "k", "v", "out")})

    def step(x):
        q = proj["q"](x).view(b, t, h, dh).transpose(1, 2)  # (B, H, T, Dh)
        k = proj["k"](x).view(b, t, h, dh).transpose(1, 2)  # (B, H, T, Dh)
        v = proj["v"](x).view(b, t, h, dh).transpose(1, 2)  # (B, H, T, Dh)
        if case == "bare_sdpa":
            weights = None
            context = F.scaled_dot_product_attention(q, k, v)  # (B, H, T, Dh)
        else:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))  # (B, H, T, T)
            weights = torch.softmax(scores, dim=-1)  # (B, H, T, T)
            context = weights @ v  # (B, H, T, Dh)
        context = context.transpose(1, 2).reshape(b, t, d)  # (B, T, D)
        return proj["out"](context), weights

    return step, list(proj.parameters())


def run_case(case: str, t: int, warmup: int, repeats: int, memory_budget_gb: float) -> dict:
    """Time one case in this process; called by the child entry point.

    Args:
        case: a name from :data:`CASES`, or ``"matmul"`` for the ``MATMUL_N`` square matmul.
        t: sequence length T (ignored for ``"matmul"``).
        warmup: untimed steps first.
        repeats: timed steps.
        memory_budget_gb: address-space headroom allowed past the baseline.

    Returns:
        Raw timings (wall and process CPU per step), RSS baseline and peak, load averages.
    """
    import torch

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    if case == "matmul":
        a, m = torch.randn(MATMUL_N, MATMUL_N), torch.randn(MATMUL_N, MATMUL_N)

        def one() -> None:
            torch.matmul(a, m)

        flops = 2 * MATMUL_N**3
    else:
        step, params = _build_step(case, t)
        x = torch.randn(BATCH, t, D_MODEL, requires_grad=True)  # (B, T, D)
        grad_out = torch.randn(BATCH, t, D_MODEL)  # (B, T, D)

        def one() -> None:
            out, weights = step(x)  # weights stay alive through backward, as for a caller
            out.backward(grad_out)
            for p in params:
                p.grad = None
            x.grad = None
            del out, weights

        flops = step_flops(t)
    baseline_mb = machine.max_rss_mb()
    machine.limit_address_space(memory_budget_gb)
    load_before = os.getloadavg()
    for _ in range(warmup):
        one()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        one()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    peak_mb = machine.max_rss_mb()
    return {
        "case": case,
        "T": t,
        "warmup": warmup,
        "repeats": repeats,
        "wall_s": wall,
        "cpu_s": cpu,
        "median_ms": 1e3 * statistics.median(wall),
        "min_ms": 1e3 * min(wall),
        "cpu_util": sum(cpu) / sum(wall),  # at most THREADS; lower means we were starved
        "flops": flops,
        "gflops": flops / statistics.median(wall) / 1e9,
        "rss_baseline_mb": baseline_mb,
        "rss_peak_mb": peak_mb,
        "peak_mb": peak_mb - baseline_mb,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


# ------------------------------------------------------------------------ the parent process
def _launch(case: str, t: int, warmup: int, repeats: int, budget_gb: float) -> dict:
    """Run one case in a fresh interpreter and return its JSON line (or an ``error``)."""
    cmd = [sys.executable, "-m", "amkit.bench.attention", "--case", case, "--T", str(t)]
    cmd += ["--warmup", str(warmup), "--repeats", str(repeats)]
    cmd += ["--memory-budget-gb", str(budget_gb)]
    return machine.run_child(cmd, THREADS, CHILD_TIMEOUT_S, {"case": case, "T": t})


def measure(case: str, t: int, warmup: int, repeats: int, budget_gb: float) -> dict:
    """Run a case when the machine is quiet; retry it if other load starved it.

    Up to :data:`MAX_ATTEMPTS` runs, each after waiting (at most :data:`QUIET_WAIT_S`) for
    the machine to be at most :data:`QUIET_BUSY_MAX` busy. A run whose CPU utilisation is
    below :data:`STARVED_UTIL` was starved and is retried. The fastest run (lowest median)
    is kept; every attempt is listed under ``attempts``.
    """
    attempts = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        busy, waited = machine.wait_for_quiet(QUIET_BUSY_MAX, QUIET_WAIT_S)
        started = time.perf_counter()
        res = _launch(case, t, warmup, repeats, budget_gb)
        res.update(busy_before=busy, waited_s=waited, process_s=time.perf_counter() - started)
        attempts.append(res)
        if "error" in res or res["cpu_util"] >= STARVED_UTIL:
            break
        then = "retrying" if attempt < MAX_ATTEMPTS else "giving up"
        logger.info("%-20s T=%-5d starved (CPU util %.2f), %s", case, t, res["cpu_util"], then)
    ok = [a for a in attempts if "error" not in a]
    best = dict(min(ok, key=lambda a: a["median_ms"]) if ok else attempts[-1])
    keys = ("median_ms", "cpu_util", "busy_before", "waited_s", "error")
    best["attempts"] = [{k: a[k] for k in keys if k in a} for a in attempts]
    if ok:
        best["starved"] = best["cpu_util"] < STARVED_UTIL
    return best


def _plan(lengths: list[int], quick: bool, merge: bool) -> list[tuple[int, str]]:
    """``(T, case)`` in run order; at :data:`LINEAR_EXTRA_T` only the fused paths.

    Where a step takes seconds (T > 512, not quick) every case runs in two processes, in the
    order A B C .. C B A, so a drift in other load or in clock speed hits both sides of a
    comparison alike, and each case gets twice the timed steps.
    """
    if not quick and not merge and LINEAR_EXTRA_T not in lengths:
        lengths = [*lengths, LINEAR_EXTRA_T]
    plan = []
    for t in lengths:
        cases = list(LINEAR_CASES if t == LINEAR_EXTRA_T else CASES)
        twice = not quick and t > 512
        plan += [(t, case) for case in (cases + cases[::-1] if twice else cases)]
    return plan


def run_attention_benchmark(
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    out_dir: str | os.PathLike = "docs/benchmarks",
    quick: bool = False,
    memory_budget_gb: float = 12.0,
    *,
    merge: bool = False,
) -> dict:
    """Benchmark every case at every T, write ``attention.json`` and ``attention.md``.

    Args:
        lengths: sequence lengths T. Unless ``quick`` or ``merge``, ``amkit_fast`` and
            ``bare_sdpa`` also run at T = 8192 to show their memory grows about linearly
            (T = 8192 given here runs just those two).
        out_dir: where the two files go (created if missing). A quick run writes
            ``attention-quick.json``/``.md`` instead so it never replaces a full run.
        quick: one warm-up and three timed steps per case, no T = 8192; a smoke test.
        memory_budget_gb: skip a case whose estimated peak exceeds this (or 80% of the
            memory available now); a case that still goes past it fails cleanly.
        merge: rerun only ``lengths`` and keep the other T of the existing JSON, e.g. to
            repeat a T that other load disturbed. Every run is listed under ``runs`` and
            each result names the run it came from.

    Returns:
        The dict saved as JSON: ``runs`` (command, date, load averages of each run),
        ``machine``, ``config``, ``matmul``, ``results`` (one entry per case and T, with
        ``skipped_gb`` or ``error`` where it did not run), ``summary`` and ``targets``.
    """
    lengths = sorted({int(t) for t in lengths})
    if not lengths or lengths[0] <= 0:
        raise UserError(f"lengths must be positive integers, got {lengths}")
    out = Path(out_dir)
    stem = "attention-quick" if quick else "attention"
    previous: dict[str, Any] = {"runs": [], "matmul": {"runs": []}, "results": []}
    if merge:
        if not (out / f"{stem}.json").exists():
            raise FileNotFoundError(
                f"merge=True needs an earlier {out / stem}.json; run without it"
            )
        previous = json.loads((out / f"{stem}.json").read_text())
    run_id = len(previous["runs"])
    load_before = os.getloadavg()
    started = time.perf_counter()
    plan = _plan(lengths, quick, merge)

    matmul_reps = (1, 5) if quick else (3, 20)
    logger.info("matmul %dx%d float32 (machine limit) ...", MATMUL_N, MATMUL_N)
    matmul = [measure("matmul", 0, *matmul_reps, memory_budget_gb)]
    parts: dict[tuple[int, str], list[dict]] = {}
    for t, case in plan:
        if parts.get((t, case)) and "skipped_gb" in parts[(t, case)][0]:
            continue
        budget = min(memory_budget_gb, 0.8 * machine.available_gb())
        need = estimate_gb(case, t)
        if need > budget:
            logger.info("%-20s T=%-5d skipped: needs ~%.1f GB > %.1f GB", case, t, need, budget)
            parts[(t, case)] = [{"case": case, "T": t, "skipped_gb": need, "budget_gb": budget}]
            continue
        res = measure(case, t, *repeats_for(t, quick), memory_budget_gb)
        res["estimated_gb"] = need
        parts.setdefault((t, case), []).append(res)
        if "error" in res:
            logger.warning("%-20s T=%-5d failed: %s", case, t, res["error"])
        else:
            logger.info(
                "%-20s T=%-5d %10.1f ms  peak +%7.0f MB  load %.2f",
                case,
                t,
                res["median_ms"],
                res["peak_mb"],
                res["loadavg_after"][0],
            )
    results = [report.combine(p, STARVED_UTIL) for p in parts.values()]
    matmul.append(measure("matmul", 0, *matmul_reps, memory_budget_gb))
    ok = [m for m in matmul if "error" not in m]
    if not ok:
        raise RuntimeError(f"the reference matmul failed: {matmul[0]['error']}")
    for r in (*matmul, *results):
        r["run"] = run_id

    run = {
        "command": machine.invocation("amkit.bench.attention"),
        "call": (
            f"run_attention_benchmark(lengths={tuple(lengths)}, out_dir={str(out_dir)!r}, "
            f"quick={quick}, memory_budget_gb={memory_budget_gb}"
            + (", merge=True)" if merge else ")")
        ),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "wall_time_s": time.perf_counter() - started,
        "lengths": sorted({t for t, _ in plan}),
        "memory_budget_gb": memory_budget_gb,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "git": machine.git_revision(),
    }
    fresh = {(r["T"], r["case"]) for r in results}
    kept = [r for r in previous["results"] if (r["T"], r["case"]) not in fresh]
    order = {case: i for i, case in enumerate(CASES)}
    matmul_runs = [*previous["matmul"]["runs"], *matmul]
    data: dict[str, Any] = {
        "benchmark": "attention",
        "runs": [*previous["runs"], run],
        "machine": {
            "cpu_model": machine.cpu_model(),
            "logical_cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": ok[0]["torch"],
            "threads": ok[0]["threads"],
        },
        "config": {
            "batch": BATCH,
            "d_model": D_MODEL,
            "n_heads": N_HEADS,
            "dtype": "float32",
            "quick": quick,
            "score_copies": SCORE_COPIES,
            "activation_copies": ACTIVATION_COPIES,
        },
        "matmul": {
            "n": MATMUL_N,
            "runs": matmul_runs,
            # the limit is the best run: other load can only make it look lower
            "gflops": max(m["gflops"] for m in matmul_runs if "gflops" in m),
        },
        "results": sorted([*kept, *results], key=lambda r: (r["T"], order[r["case"]])),
    }
    data["summary"] = report.summarize(data)
    data["targets"] = report.evaluate_targets(data)
    out.mkdir(parents=True, exist_ok=True)
    report.write_atomic(out / f"{stem}.json", json.dumps(data, indent=2) + "\n")
    report.write_atomic(out / f"{stem}.md", report.render_markdown(data))
    logger.info("wrote %s and %s", out / f"{stem}.json", out / f"{stem}.md")
    return data


# ------------------------------------------------------------------------ CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``amkit bench attention`` options to ``parser``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: few repeats, T=64,128 unless --lengths; writes attention-quick.*",
    )
    parser.add_argument(
        "--lengths",
        type=_parse_lengths,
        default=None,
        help=f"comma-separated T values (default {','.join(map(str, DEFAULT_LENGTHS))})",
    )
    parser.add_argument("--out", default="docs/benchmarks", help="output directory")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="rerun only --lengths and keep the other T already in the output JSON",
    )
    parser.add_argument(
        "--memory-budget-gb",
        type=float,
        default=12.0,
        help="skip cases estimated to need more memory than this (default 12)",
    )


def _parse_lengths(text: str) -> tuple[int, ...]:
    return machine.positive_ints(text, "--lengths", "128,512", parse=int)


def main(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed CLI arguments; print where the report went."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    lengths = args.lengths or (QUICK_LENGTHS if args.quick else DEFAULT_LENGTHS)
    data = run_attention_benchmark(
        lengths=lengths,
        out_dir=args.out,
        quick=args.quick,
        memory_budget_gb=args.memory_budget_gb,
        merge=args.merge,
    )
    print(report.targets_text(data))
    stem = "attention-quick" if args.quick else "attention"
    print(f"wrote {Path(args.out) / (stem + '.md')} and {stem}.json")
    failed = [r for r in data["results"] if "error" in r]
    return 1 if failed else 0


def _child_main(args: argparse.Namespace) -> int:
    result = run_case(args.case, args.T, args.warmup, args.repeats, args.memory_budget_gb)
    print(json.dumps(result), flush=True)
    return 0


def _main_from_argv(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the benchmark or one internal case."""
    parser = argparse.ArgumentParser(description="amkit attention benchmark (CPU)")
    add_arguments(parser)
    # internal: run one case in this process (what the parent launches) and print its JSON
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--T", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return _child_main(args) if args.case else main(args)


if __name__ == "__main__":
    sys.exit(_main_from_argv())
