"""Sweeps: every combination of a grid of settings times seeds, one run directory each.

    amkit sweep CONFIG --seeds 0,1,2 --grid model.hops=1,2,3 --grid model.knowledge=none,lexicon
        --workers 2 --out DIR

runs ``len(seeds) x product(len(values))`` trainings as ``DIR/<variant>/seed<S>/`` (variant
names like ``hops=2,knowledge=lexicon``) in ``--workers`` parallel processes, each with
``cores // workers`` torch threads. An ablation lists named variants instead of a grid:
``--variant full: --variant no_memory:model.memory=none`` (the first is the baseline).
``{seed}`` in a value (of ``--set``, ``--grid`` or ``--variant``) becomes the run's seed,
for settings that differ per seed: ``data.teacher=runs/teacher-seed{seed}``.
It is resumable: a finished run (``metrics.json``) is skipped, an interrupted one
(``last.json``) resumes exactly, so a killed sweep continues where it stopped when the same
command runs again. A run that fails is reported and the others go on.

At the end (and after every finished run) it writes

- ``runs.csv``: one row per run (variant, seed, settings, metrics, seconds);
- ``summary.csv`` / ``summary.json`` / ``summary.md``: per variant and metric the mean,
  standard deviation and a 95 % confidence interval (Student t over seeds), plus a paired
  t-test of each variant against the first one on the compared metric, paired by seed;
- ``summary.png``: the compared metric per variant with the 95 % intervals.

The compared metric is ``--metric`` (``test_bleu``, ``test_hr@10``, ``val_accuracy``, ...: a
split and a key of ``metrics.json``); by default the test value of what the config's
``train.monitor`` watches on validation (``val_bleu`` -> ``test_bleu``), so a translation or
recommendation sweep summarises what it measures.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amkit.config import parse_override
from amkit.errors import UserError
from amkit.io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

# metric name -> how to read it from a run's metrics.json
METRICS = {
    "test_accuracy": ("test", "accuracy"),
    "test_f1": ("test", "f1"),
    "val_accuracy": ("val", "accuracy"),
    "train_seconds": ("timings", "train_seconds"),
}
COMPARED_METRIC = "test_accuracy"  # the default where a config monitors nothing else
# metrics shown in percent (fractions in metrics.json); others (BLEU, loss, MSE) as they are
PERCENT_KEYS = ("accuracy", "f1", "precision", "recall", "hr@", "ndcg@", "full_hr@",
                "full_ndcg@", "mrr")  # fmt: skip


def parse_metric(name: str) -> tuple[str, str]:
    """``"test_bleu"`` -> ``("test", "bleu")``: a split (``test`` or ``val``) and a key of
    that section of ``metrics.json``."""
    split, _, key = name.partition("_")
    if split not in ("test", "val") or not key:
        raise UserError(
            f"--metric: {name!r} is not SPLIT_KEY with SPLIT test or val "
            "(e.g. test_accuracy, test_bleu, test_hr@10, val_loss)"
        )
    return split, key


def default_metric(monitor: str) -> str:
    """The compared metric for a config whose ``train.monitor`` is ``monitor``: its test
    value (``val_bleu`` -> ``test_bleu``)."""
    return "test_" + monitor.removeprefix("val_") if monitor.startswith("val_") else COMPARED_METRIC


def _in_percent(metric: str) -> bool:
    return parse_metric(metric)[1].startswith(PERCENT_KEYS)


@dataclass(frozen=True)
class SweepRun:
    """One training of the sweep: its variant's settings and its seed."""

    variant: str
    settings: tuple[tuple[str, str], ...]  # (dotted key, value text)
    seed: int
    run_dir: Path

    @property
    def overrides(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.settings] + [f"seed={self.seed}"]

    def all_overrides(self, common: Sequence[str]) -> list[str]:
        """The sweep's ``common`` overrides, then this run's, ``{seed}`` filled in."""
        return [o.replace("{seed}", str(self.seed)) for o in [*common, *self.overrides]]


def parse_grid(entries: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["model.hops=1,2,3", ...]`` -> ``[("model.hops", ["1", "2", "3"]), ...]``."""
    grid = []
    for entry in entries:
        key, sep, values = entry.partition("=")
        if not sep or not key or not values:
            raise UserError(f"--grid {entry!r}: expected KEY=V1,V2,... (e.g. model.hops=1,2,3)")
        parse_override(f"{key}=0")  # validates the key the same way --set does
        items = [v.strip() for v in values.split(",")]
        if any(not v for v in items) or len(set(items)) != len(items):
            raise UserError(f"--grid {entry!r}: values must be non-empty and distinct")
        if key in (k for k, _ in grid):
            raise UserError(f"--grid {key}: given twice; list all its values in one --grid")
        grid.append((key, items))
    return grid


def parse_variants(entries: Sequence[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``["full:", "no_memory:model.memory=none,model.hops=1"]`` -> named override sets (an
    ablation is a list of variants, not a grid)."""
    variants = []
    for entry in entries:
        name, sep, rest = entry.partition(":")
        if not sep or not name or any(not (c.isalnum() or c in "_-.=") for c in name):
            raise UserError(
                f"--variant {entry!r}: expected NAME:KEY=VALUE,... (NAME: letters, digits, _-.)"
            )
        settings = []
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise UserError(f"--variant {entry!r}: {item!r} is not KEY=VALUE")
            parse_override(item.replace("{seed}", "0"))  # checked as for seed 0
            settings.append((key, value))
        if name in (n for n, _ in variants):
            raise UserError(f"--variant {name}: given twice")
        variants.append((name, settings))
    return variants


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise UserError(f"--seeds {text!r}: expected integers separated by commas") from None
    if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise UserError(f"--seeds {text!r}: seeds must be distinct and >= 0")
    return seeds


def _variant_name(settings: Sequence[tuple[str, str]]) -> str:
    if not settings:
        return "default"
    name = ",".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in settings)
    return "".join(c if c.isalnum() or c in "=,._-" else "_" for c in name)


def plan(
    grid: Sequence[tuple[str, list[str]]],
    seeds: Sequence[int],
    out: Path,
    variants: Sequence[tuple[str, list[tuple[str, str]]]] = (),
) -> list[SweepRun]:
    """Every grid combination (or every named variant) x seed, in a stable order (variants
    first, then seeds)."""
    if grid and variants:
        raise UserError("give either --grid or --variant, not both")
    if variants:
        named = [(name, tuple(settings)) for name, settings in variants]
    else:
        keys = [key for key, _ in grid]
        combos = itertools.product(*(values for _, values in grid))
        named = []
        for values in combos:
            settings = tuple(zip(keys, values, strict=True))
            named.append((_variant_name(settings), settings))
    runs = [
        SweepRun(name, settings, s, out / name / f"seed{s}")
        for name, settings in named
        for s in seeds
    ]
    if len({r.variant for r in runs}) * len(seeds) != len(runs):
        raise UserError("two grid combinations give the same directory name; rename the values")
    return runs


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the sweep process dies, so a killed sweep
    leaves no orphan training a run directory that the resumed sweep would train too."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _train_one(
    config: str | Path | Mapping, run: SweepRun, overrides: list[str], threads: int
) -> dict:
    """Worker process: train (or resume) one run; returns its metrics."""
    import torch

    import amkit

    torch.set_num_threads(threads)
    resume = (run.run_dir / "last.json").is_file()
    if resume:
        result = amkit.run(None, run_dir=run.run_dir, resume=True)
    else:
        result = amkit.run(config, run_dir=run.run_dir, overrides=run.all_overrides(overrides))
    return {**result.metrics, "timings": result.timings}


def run_metrics(run_dir: Path, metric: str = COMPARED_METRIC) -> dict[str, float] | None:
    """The sweep's metrics (and ``metric``) of a finished run directory (``None`` if it has
    not finished)."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text(encoding="utf-8"))
    values = {}
    for name, (section, key) in {**METRICS, metric: parse_metric(metric)}.items():
        value = metrics.get(section, {}).get(key)
        if value is not None:
            values[name] = float(value)
    return values


def mean_std_ci(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean, sample standard deviation and a two-sided 95 % Student-t interval."""
    from scipy import stats

    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return {"n": n, "mean": mean, "std": None, "ci95_low": None, "ci95_high": None}
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}


def paired_test(a: dict[int, float], b: dict[int, float]) -> dict[str, Any]:
    """Paired t-test of ``b - a`` over the seeds both have (scipy ``ttest_rel``)."""
    from scipy import stats

    seeds = sorted(set(a) & set(b))
    result: dict[str, Any] = {"n_pairs": len(seeds), "mean_difference": None, "p_value": None}
    if seeds:
        diffs = [b[s] - a[s] for s in seeds]
        result["mean_difference"] = sum(diffs) / len(diffs)
    if len(seeds) >= 2 and any(b[s] != a[s] for s in seeds):
        test = stats.ttest_rel([b[s] for s in seeds], [a[s] for s in seeds])
        result["p_value"] = float(test.pvalue) if math.isfinite(test.pvalue) else None
    return result


def summarize(
    runs: Sequence[SweepRun], failed: dict[Path, str], metric: str = COMPARED_METRIC
) -> dict[str, Any]:
    """Per-run rows and per-variant statistics of the finished runs; the paired tests
    compare ``metric``."""
    rows, by_variant = [], {}
    for run in runs:
        metrics = run_metrics(run.run_dir, metric)
        status = "done" if metrics is not None else ("failed" if run.run_dir in failed else "todo")
        rows.append({"variant": run.variant, "seed": run.seed, "status": status,
                     **dict(run.settings), **(metrics or {})})  # fmt: skip
        if metrics is not None:
            by_variant.setdefault(run.variant, {})[run.seed] = metrics
    variants = list(dict.fromkeys(r.variant for r in runs))
    baseline = variants[0]
    summary = []
    for variant in variants:
        seeds = by_variant.get(variant, {})
        entry: dict[str, Any] = {"variant": variant, "seeds": sorted(seeds)}
        for name in dict.fromkeys([*METRICS, metric]):
            values = [m[name] for m in seeds.values() if name in m]
            if values:
                entry[name] = mean_std_ci(values)
        if variant != baseline:
            entry[f"vs_{baseline}"] = paired_test(
                {s: m[metric] for s, m in by_variant.get(baseline, {}).items() if metric in m},
                {s: m[metric] for s, m in seeds.items() if metric in m},
            )  # fmt: skip
        summary.append(entry)
    return {"baseline": baseline, "compared_metric": metric, "runs": rows,
            "variants": summary, "failed": {str(k): v for k, v in failed.items()}}  # fmt: skip


def _fmt(stat: dict[str, Any] | None, percent: bool, digits: int | None = None) -> str:
    if not stat:
        return ""
    scale, digits = (100.0, digits or 2) if percent else (1.0, digits or 1)
    text = f"{stat['mean'] * scale:.{digits}f}"
    if stat["std"] is not None:
        text += f" ± {stat['std'] * scale:.{digits}f} "
        text += f"[{stat['ci95_low'] * scale:.{digits}f}, {stat['ci95_high'] * scale:.{digits}f}]"
    return text


def render_markdown(summary: dict[str, Any], command: str) -> str:
    baseline = summary["baseline"]
    metric = summary.get("compared_metric", COMPARED_METRIC)
    percent = _in_percent(metric)
    extra = [] if metric in METRICS else [metric.replace("_", " ", 1)]
    lines = [
        "# Sweep summary",
        "",
        f"Command: `{command}`",
        "",
        "Mean ± standard deviation over seeds [95 % Student-t interval]; accuracy and F1 in %. "
        f"The last column is a paired t-test (by seed) of `{metric}` against `{baseline}`: "
        f"mean difference{' in points' if percent else ''} and p-value (with 3 seeds only "
        "large effects are detectable).",
        "",
        "| variant | seeds | "
        + "".join(f"{name} | " for name in extra)
        + "test accuracy | test F1 | val accuracy | train s | vs baseline |",
        "|---|---|" + "---:|" * (len(extra) + 4) + "---|",
    ]
    for entry in summary["variants"]:
        test = entry.get(f"vs_{baseline}")
        versus = ""
        if test and test["mean_difference"] is not None:
            versus = f"{test['mean_difference'] * (100 if percent else 1):+.2f}"
            versus += f", p = {test['p_value']:.3f}" if test["p_value"] is not None else ", p n/a"
        cells = [
            f"`{entry['variant']}`",
            ",".join(map(str, entry["seeds"])) or "-",
            *([_fmt(entry.get(metric), percent, 2)] if extra else []),
            _fmt(entry.get("test_accuracy"), True),
            _fmt(entry.get("test_f1"), True),
            _fmt(entry.get("val_accuracy"), True),
            _fmt(entry.get("train_seconds"), False),
            versus or ("baseline" if entry["variant"] == baseline else ""),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if summary["failed"]:
        lines += ["", "Failed runs:", ""]
        lines += [f"- `{path}`: {error}" for path, error in summary["failed"].items()]
    return "\n".join(lines) + "\n"


def _csv_text(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for entry in summary["variants"]:
        for name in dict.fromkeys([*METRICS, summary["compared_metric"]]):
            if name in entry:
                rows.append({"variant": entry["variant"], "metric": name, **entry[name]})
    return rows


def _plot(summary: dict[str, Any], path: Path) -> None:
    from amkit.io import atomic_save_figure as save_figure

    metric = summary["compared_metric"]
    entries = [e for e in summary["variants"] if metric in e]
    if not entries:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = 100 if _in_percent(metric) else 1
    means = [scale * e[metric]["mean"] for e in entries]
    errors = [
        0.0 if e[metric]["std"] is None else scale * (e[metric]["ci95_high"] - e[metric]["mean"])
        for e in entries
    ]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(entries)), 3.5))
    ax.bar(range(len(entries)), means, yerr=errors, capsize=4, color="#4c72b0")
    ax.set_xticks(range(len(entries)), [e["variant"] for e in entries], rotation=30, ha="right")
    ax.set_ylabel(f"{metric}{' %' if scale == 100 else ''} (95 % CI)")
    low = min(m - e for m, e in zip(means, errors, strict=True))
    high = max(m + e for m, e in zip(means, errors, strict=True))
    pad = 0.05 * (high - low) + (2 if scale == 100 else 1e-9)
    ax.set_ylim(max(0.0, low - pad) if low >= 0 else low - pad, high + pad)
    save_figure(fig, path)


def write_summary(
    out: Path, runs: Sequence[SweepRun], failed: dict, command: str, metric: str = COMPARED_METRIC
) -> dict:
    summary = summarize(runs, failed, metric)
    summary["command"] = command
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "runs.csv", _csv_text(summary["runs"]))
    atomic_write_text(out / "summary.csv", _csv_text(_summary_rows(summary)))
    atomic_write_text(out / "summary.md", render_markdown(summary, command))
    _plot(summary, out / "summary.png")
    return summary


def run_sweep(
    config: str | Path | Mapping,
    out: str | Path,
    seeds: Sequence[int] = (0,),
    grid: Sequence[tuple[str, list[str]]] = (),
    variants: Sequence[tuple[str, list[tuple[str, str]]]] = (),
    workers: int = 1,
    overrides: Sequence[str] = (),
    threads: int | None = None,
    command: str = "",
    on_event=print,
    metric: str | None = None,
) -> dict[str, Any]:
    """Train every combination not yet finished, then write the summary files; ``metric``
    (default: the test value of the config's ``train.monitor``) is the one compared."""
    out = Path(out)
    runs = plan(grid, seeds, out, variants)
    if workers < 1:
        raise UserError(f"--workers: expected >= 1, got {workers}")
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    from amkit.experiments.run import load_config

    for run in runs:  # every combination's config is checked before anything trains
        resolved = load_config(config, run.all_overrides(overrides))
    metric = metric or default_metric(resolved.train.monitor)
    parse_metric(metric)
    out.mkdir(parents=True, exist_ok=True)
    todo = [r for r in runs if run_metrics(r.run_dir, metric) is None]
    on_event(
        f"{len(runs)} runs ({len(runs) // len(seeds)} variants x {len(seeds)} seeds): "
        f"{len(runs) - len(todo)} finished, {len(todo)} to train with {workers} workers x "
        f"{threads} threads"
    )
    failed: dict[Path, str] = {}
    context = multiprocessing.get_context("spawn")  # a clean torch in every worker
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        started = {}
        pending = set()
        for run in todo:
            future = pool.submit(_train_one, config, run, list(overrides), threads)
            started[future] = (run, time.perf_counter())
            pending.add(future)
        finished = len(runs) - len(todo)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                run, t0 = started[future]
                finished += 1
                tag = f"[{finished}/{len(runs)}] {run.variant} seed {run.seed}"
                error = future.exception()
                if error is not None:
                    failed[run.run_dir] = f"{type(error).__name__}: {error}"
                    on_event(f"{tag}: FAILED ({failed[run.run_dir]})")
                else:
                    split, key = parse_metric(metric)
                    value = future.result().get(split, {}).get(key)
                    shown = f"{metric} {value:.4f}" if value is not None else "done"
                    on_event(f"{tag}: {shown} ({time.perf_counter() - t0:.0f} s)")
                write_summary(out, runs, failed, command, metric)
    return write_summary(out, runs, failed, command, metric)
