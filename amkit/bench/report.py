"""Derived numbers, target checks and the Markdown report of the attention benchmark.

Everything here works on the JSON dict that :func:`amkit.bench.attention.run_attention_benchmark`
saves, so ``attention.md`` can be regenerated from ``attention.json`` alone::

    python -m amkit.bench.report docs/benchmarks/attention.json

Legend: T sequence length.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from amkit.io import atomic_write_text

# Targets: (key, statement, threshold). A ratio is time(case) / time(reference).
FAST_VS_SDPA_MAX = 1.05
FAST_VS_TORCH_MAX = 0.90  # "clearly faster": at least 10% less time
WEIGHTS_VS_NAIVE_MAX = 1.10
LINEAR_SLOPE_MAX = 1.25  # d log(peak memory) / d log(T); 1 = linear, 2 = quadratic

REFERENCE = {"amkit_fast": "bare_sdpa", "amkit_weights": "naive"}
BASELINE = "torch_mha_weights"


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    atomic_write_text(path, text)


def _measured(data: dict) -> dict[tuple[int, str], dict]:
    return {
        (r["T"], r["case"]): r
        for r in data["results"]
        if "median_ms" in r  # not skipped, not failed
    }


def summarize(data: dict) -> list[dict]:
    """One row per measured (T, case): median, GFLOP/s, % of the matmul limit, ratios."""
    runs = _measured(data)
    limit = data["matmul"]["gflops"]
    rows = []
    for (t, case), r in runs.items():
        base = runs.get((t, BASELINE))
        ref = runs.get((t, REFERENCE.get(case, "")))
        rows.append(
            {
                "T": t,
                "case": case,
                "median_ms": r["median_ms"],
                "gflops": r["gflops"],
                "pct_of_matmul": 100 * r["gflops"] / limit,
                "vs_torch_mha_weights": r["median_ms"] / base["median_ms"] if base else None,
                "reference": REFERENCE.get(case),
                "vs_reference": r["median_ms"] / ref["median_ms"] if ref else None,
                "peak_mb": r["peak_mb"],
            }
        )
    return rows


def _ratio_target(
    runs: dict, case: str, ref: str, limit: float, statement: str, threshold: str
) -> dict:
    per_t = {
        str(t): runs[(t, case)]["median_ms"] / runs[(t, ref)]["median_ms"]
        for (t, c) in sorted(runs)
        if c == case and (t, ref) in runs
    }
    if not per_t:
        status = "not evaluated"
    else:
        status = "met" if all(v <= limit for v in per_t.values()) else "not met"
    starved = [
        t
        for t in per_t
        if runs[(int(t), case)].get("starved") or runs[(int(t), ref)].get("starved")
    ]
    return {
        "target": statement,
        "threshold": threshold,
        "per_T": per_t,
        "starved_T": starved,  # either side still starved by other load after retries
        "status": status,
    }


def memory_slope(runs: dict, case: str) -> tuple[dict[str, float], float | None]:
    """Peak MB per T and the log-log slope between the two largest T."""
    mb = {t: r["peak_mb"] for (t, c), r in sorted(runs.items()) if c == case}
    slope = None
    if len(mb) >= 2:
        (t1, m1), (t2, m2) = sorted(mb.items())[-2:]
        if m1 > 0 and m2 > 0:
            slope = math.log(m2 / m1) / math.log(t2 / t1)
    return {str(t): m for t, m in mb.items()}, slope


def evaluate_targets(data: dict) -> list[dict]:
    """Check the four stated targets; each gets ``status`` met / not met / not evaluated."""
    runs = _measured(data)
    targets = [
        _ratio_target(
            runs,
            "amkit_fast",
            "bare_sdpa",
            FAST_VS_SDPA_MAX,
            "amkit_fast within 5% of bare_sdpa",
            f"time ratio <= {FAST_VS_SDPA_MAX:.2f} at every T",
        ),
        _ratio_target(
            runs,
            "amkit_fast",
            BASELINE,
            FAST_VS_TORCH_MAX,
            "amkit_fast clearly faster than torch_mha_weights (nn.MultiheadAttention default)",
            f"time ratio <= {FAST_VS_TORCH_MAX:.2f} at every T where both ran",
        ),
        _ratio_target(
            runs,
            "amkit_weights",
            "naive",
            WEIGHTS_VS_NAIVE_MAX,
            "amkit_weights within 10% of naive",
            f"time ratio <= {WEIGHTS_VS_NAIVE_MAX:.2f} at every T",
        ),
    ]
    per_t, slope = memory_slope(runs, "amkit_fast")
    status = "not evaluated" if slope is None else "met" if slope <= LINEAR_SLOPE_MAX else "not met"
    targets.append(
        {
            "target": "amkit_fast peak memory about linear in T",
            "threshold": f"log-log slope between the two largest T <= {LINEAR_SLOPE_MAX}",
            "per_T": per_t,
            "slope": slope,
            "status": status,
        }
    )
    return targets


# ------------------------------------------------------------------------ rendering
def combine(parts: list[dict], starved_util: float) -> dict:
    """Pool the runs of one case in several processes: all timed steps, the highest peak;
    ``starved`` when the pooled CPU use is under ``starved_util`` (threads that waited)."""
    ok = [p for p in parts if "median_ms" in p]
    if len(parts) == 1 or not ok:
        return parts[0]
    wall = [w for p in ok for w in p["wall_s"]]
    cpu = [c for p in ok for c in p["cpu_s"]]
    merged = dict(ok[0])
    merged.update(
        wall_s=wall,
        cpu_s=cpu,
        repeats=len(wall),
        median_ms=1e3 * statistics.median(wall),
        min_ms=1e3 * min(wall),
        cpu_util=sum(cpu) / sum(wall),
        gflops=ok[0]["flops"] / statistics.median(wall) / 1e9,
        rss_baseline_mb=max(p["rss_baseline_mb"] for p in ok),
        rss_peak_mb=max(p["rss_peak_mb"] for p in ok),
        peak_mb=max(p["peak_mb"] for p in ok),
        loadavg_after=ok[-1]["loadavg_after"],
        attempts=[a for p in parts for a in p.get("attempts", [])],
        processes=[
            {k: p[k] for k in ("median_ms", "cpu_util", "peak_mb", "error") if k in p}
            for p in parts
        ],
    )
    merged["starved"] = merged["cpu_util"] < starved_util
    return merged


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "" if value is None else f"{value:{spec}}{suffix}"


def _target_result(t: dict) -> str:
    if "slope" in t:
        mb = ", ".join(f"T={k}: {v:.0f} MB" for k, v in t["per_T"].items())
        return f"slope {_fmt(t['slope'], '.2f')} ({mb})"
    text = ", ".join(f"T={k}: {v:.3f}" for k, v in t["per_T"].items()) or "no pair measured"
    if t.get("starved_T"):
        text += f" (starved by other load at T={', '.join(t['starved_T'])})"
    return text


def targets_text(data: dict) -> str:
    """Plain-text target summary for the terminal."""
    lines = ["targets:"]
    for t in data["targets"]:
        lines.append(f"  [{t['status']}] {t['target']}: {_target_result(t)}")
    return "\n".join(lines)


def render_markdown(data: dict) -> str:
    """The full report: header, targets, one table per T, memory scaling, method."""
    m, cfg, mm = data["machine"], data["config"], data["matmul"]
    rows = {(r["T"], r["case"]): r for r in data["summary"]}
    multi = len(data["runs"]) > 1
    out = [
        "# Attention benchmark (CPU, forward + backward)",
        "",
        "<!-- generated by amkit.bench.report from attention.json; do not edit by hand -->",
        "",
        f"- machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs, "
        f"{m['threads']} torch threads; torch {m['torch']}, Python {m['python']}",
        f"- shape: batch {cfg['batch']}, d_model {cfg['d_model']}, {cfg['n_heads']} heads, "
        f"{cfg['dtype']}, self-attention"
        + (" (**quick run**: few repeats)" if cfg["quick"] else ""),
        f"- machine limit: {mm['n']}x{mm['n']} float32 `torch.matmul`, "
        + " / ".join(f"{r['gflops']:.0f}" for r in mm["runs"] if "gflops" in r)
        + f" GFLOP/s (start and end of each run); limit used: the best, {mm['gflops']:.0f} GFLOP/s",
        "",
        "Produced by" + (" these commands (the *run* column says which):" if multi else ":"),
        "",
    ]
    for i, run in enumerate(data["runs"]):
        load = "; ".join(
            f"{when} " + ", ".join(f"{x:.2f}" for x in run[f"loadavg_{when}"])
            for when in ("before", "after")
        )
        out += [
            f"- run {i}: `{run['command']}` (equivalent call: `{run['call']}`)",
            f"  - date {run['date']}, wall time {run['wall_time_s'] / 60:.1f} min, "
            f"T = {', '.join(map(str, run['lengths']))}, git {run['git']}",
            f"  - load average (1, 5, 15 min) {load}",
        ]
    out += [
        "",
        "## Targets",
        "",
        "| target | threshold | result | status |",
        "|---|---|---|---|",
    ]
    for t in data["targets"]:
        status = f"**{t['status']}**" if t["status"] != "met" else "met"
        out.append(f"| {t['target']} | {t['threshold']} | {_target_result(t)} | {status} |")
    out += [
        "",
        "A ratio is the median time of one case over the median time of the other at the same "
        "T; below 1 is faster.",
    ]
    for t in sorted({r["T"] for r in data["results"]}):
        out += [
            "",
            f"## T = {t}",
            "",
            "| case | median ms | min ms | vs torch_mha_weights | vs reference | GFLOP/s "
            "| % of matmul | peak MB | CPU util | processes | run |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for r in (r for r in data["results"] if r["T"] == t):
            case = r["case"]
            if "skipped_gb" in r:
                note = f"skipped: needs ~{r['skipped_gb']:.1f} GB > budget {r['budget_gb']:.1f} GB"
                out.append(f"| {case} | {note} |  |  |  |  |  |  |  |  | {r.get('run', '')} |")
                continue
            if "error" in r:
                err = r["error"][:120]
                out.append(
                    f"| {case} | failed: {err} |  |  |  |  |  |  |  |  | {r.get('run', '')} |"
                )
                continue
            s = rows[(t, case)]
            ref = f"{s['vs_reference']:.3f} x {s['reference']}" if s["vs_reference"] else ""
            out.append(
                f"| {case} | {s['median_ms']:.1f} | {r['min_ms']:.1f} "
                f"| {_fmt(s['vs_torch_mha_weights'], '.3f')} | {ref} | {s['gflops']:.1f} "
                f"| {s['pct_of_matmul']:.0f}% | {s['peak_mb']:.0f} | {r['cpu_util']:.2f}"
                f"{' starved' if r.get('starved') else ''} | {len(r.get('attempts', [1]))} "
                f"| {r.get('run', '')} |"
            )
    cases = list(dict.fromkeys(r["case"] for r in data["results"]))
    lengths = sorted({r["T"] for r in data["results"]})
    out += [
        "",
        "## Peak memory by T (MB above the baseline)",
        "",
        "| case | " + " | ".join(f"T={t}" for t in lengths) + " | slope (two largest T) |",
        "|---|" + "--:|" * (len(lengths) + 1),
    ]
    for case in cases:
        cells = []
        for t in lengths:
            s = rows.get((t, case))
            skipped = any(
                r["T"] == t and r["case"] == case and "skipped_gb" in r for r in data["results"]
            )
            cells.append(f"{s['peak_mb']:.0f}" if s else "skipped" if skipped else "")
        _, slope = memory_slope(
            {(r["T"], r["case"]): r for r in data["results"] if "peak_mb" in r}, case
        )
        out.append(f"| {case} | " + " | ".join(cells) + f" | {_fmt(slope, '.2f')} |")
    steps = {}
    for r in data["results"]:
        if "warmup" in r:
            n = len(r.get("processes", [r]))
            one = f"{r['warmup']} + {r['repeats'] // n}"
            steps[r["T"]] = f"{n} x ({one})" if n > 1 else one
    steps_text = ", ".join(f"T={t}: {v}" for t, v in sorted(steps.items()))
    budgets = sorted({run["memory_budget_gb"] for run in data["runs"]})
    budget = " / ".join(f"{b:g}" for b in budgets)
    two = (
        '\n  "2 x": each case ran in two processes, in the order A B C .. C B A, and the table '
        "pools their\n  timed steps (median and minimum), so drift in other load hits both "
        "sides of a comparison alike."
        if any("x (" in v for v in steps.values())
        else ""
    )
    method = _METHOD.format(
        **cfg, n=mm["n"], steps=steps_text, memory_budget_gb=budget, two_processes=two
    )
    out += ["", "## Method", "", *method.strip().splitlines(), ""]
    return "\n".join(out)


_METHOD = """
- Each case and T runs in its own fresh `python -m amkit.bench.attention --case NAME --T N`
  process with `torch.set_num_threads(2)` (and `OMP_NUM_THREADS=2`), so its peak memory is its
  own. One step is forward, `out.backward(g)` with a fixed random `g` of the output's shape,
  then the gradients are set to `None`. The input requires grad; dropout is 0; modules are in
  train mode (so `nn.MultiheadAttention` takes its Python path, not its inference fast path).
  Returned weights stay alive through backward, as they would for a caller who keeps them.
- Timing (wall clock), warm-up + timed steps per process: {steps}.{two_processes}
  References run right before the case compared with them (bare_sdpa, amkit_fast, naive,
  amkit_weights, torch_mha_noweights, torch_mha_weights).
- *CPU util* is process CPU time / wall time, at most 2.0; well below that means other load
  on this shared 2-core machine starved the case. Each process starts only once the whole
  machine has been at most 20% busy for a second (waiting up to 2 min); a process with CPU
  util below 1.7 is rerun, up to 3 times, and the fastest kept (*processes* counts every
  process launched, retries included; all are listed in the JSON under `attempts`).
  *starved* marks a case that stayed below 1.7. Load that CPU util cannot see (memory
  bandwidth, the host) remains: compare the matmul limit measured at each run's start and end.
- Memory: *peak MB* is `ru_maxrss` at the end minus `ru_maxrss` after imports and
  model/input creation (the baseline, kept in the JSON as `rss_baseline_mb`); the higher of
  a case's processes. A case whose estimated peak ({score_copies} copies of a B*H*T*T float32
  tensor for the weights paths plus {activation_copies} copies of a B*T*D activation) exceeds
  the memory budget ({memory_budget_gb} GB, or 80% of the memory available at the time) is
  skipped, not run.
- FLOPs are model FLOPs: forward = 2*B*T*D*D*4 (four projections) + 2*2*B*T*T*D (QK^T and AV),
  forward+backward = 3 x forward. SDPA's flash kernel recomputes the scores in backward, so
  the hardware does more work than counted. *% of matmul* compares with a {n}x{n} float32
  `torch.matmul` timed in the same run (forward only), the best this machine does on dense
  float32 with 2 threads.
"""


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/benchmarks/attention.json")
    loaded: dict[str, Any] = json.loads(src.read_text())
    loaded["summary"] = summarize(loaded)
    loaded["targets"] = evaluate_targets(loaded)
    write_atomic(src, json.dumps(loaded, indent=2) + "\n")
    write_atomic(src.with_suffix(".md"), render_markdown(loaded))
    print(f"wrote {src} (derived fields) and {src.with_suffix('.md')}")
