"""A sweep's statistics and summary files: per variant and metric the mean, standard
deviation and a 95 % Student-t interval over seeds, a paired t-test of each variant against
the first on the compared metric, and ``runs.csv``, ``summary.{csv,json,md,png}``.

The compared metric is a split and a key of ``metrics.json`` (``test_bleu``, ``test_hr@10``):
:func:`parse_metric`; by default the test value of what the config monitors:
:func:`default_metric`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amkit.errors import UserError
from amkit.io import atomic_write_json, atomic_write_text
from amkit.textfile import json_section, read_json

if TYPE_CHECKING:
    from amkit.experiments.sweep import SweepRun

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


def run_metrics(run_dir: Path, metric: str = COMPARED_METRIC) -> dict[str, float] | None:
    """The sweep's metrics (and ``metric``) of a finished run directory (``None`` if it has
    not finished)."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return None
    metrics = read_json(path, fix="rerun the cell (delete its folder) or restore the file")
    values = {}
    for name, (section, key) in {**METRICS, metric: parse_metric(metric)}.items():
        value = json_section(metrics, section, path).get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserError(f"{path}: {section}.{key} should be a number, got {value!r:.60}")
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
    from amkit.io import atomic_save_figure

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
    atomic_save_figure(fig, path)


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
