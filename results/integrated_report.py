"""Integrated-model results page: ablation sweeps and ensembles -> ``docs/results/integrated.json``
and its generated ``.md``.

    python -m results.integrated_report sweep SWEEP_DIR --id babi-1k \\
        --dataset "bAbI 1k joint" --command "amkit sweep ..." [--notes TEXT]
    python -m results.integrated_report ensemble RUN_DIR --id imdb-ensemble \\
        --dataset IMDB --command "amkit ensemble ..." [--notes TEXT]
    python -m results.integrated_report runs --variant NAME RUN_DIR [RUN_DIR ...] \
        [--variant NAME RUN_DIR ...] --id ID --dataset TEXT --command CMD [--notes TEXT]
    python -m results.integrated_report render

A sweep entry keeps, per variant, the seeds and the test / validation accuracy statistics of
the sweep's ``summary.json`` (mean, standard deviation, 95 % interval, paired test against
the first variant). An ensemble entry keeps the ensemble's test accuracy next to its members'.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from amkit.io import atomic_write_json, atomic_write_text
from results import report
from results.report import finish_page

RESULTS = Path("docs/results/integrated.json")


def _load(path: Path) -> dict[str, Any]:
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"sweeps": {}, "ensembles": {}, "notes": []}


def _summary(sweep_dir: Path) -> dict[str, Any]:
    path = sweep_dir / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a sweep directory (run amkit sweep first)")
    return json.loads(path.read_text(encoding="utf-8"))


def runs_summary(variants: dict[str, list[str | Path]]) -> dict[str, Any]:
    """A sweep's ``summary.json`` made from separately trained runs (a queue of
    ``amkit train`` lines instead of one ``amkit sweep``): ``variants`` maps each variant (the
    first is the baseline) to its run directories, one per seed; the seed is each run's own
    (its ``metrics.json``)."""
    from amkit.experiments.sweep import SweepRun
    from amkit.experiments.sweep_summary import summarize as summarize_runs

    runs = []
    for variant, run_dirs in variants.items():
        for run_dir in run_dirs:
            metrics = report.finished_metrics(run_dir)
            runs.append(SweepRun(variant, (), int(metrics["seed"]), Path(run_dir)))
    return summarize_runs(runs, {})


def add_sweep(
    sweep_dir, entry_id, dataset, command, notes="", path: Path = RESULTS,
    summary: dict[str, Any] | None = None,
) -> dict:  # fmt: skip
    """Add or replace an ablation entry from a sweep directory (or a :func:`runs_summary`)."""
    summary = summary or _summary(Path(sweep_dir))
    keep = ("test_accuracy", "val_accuracy", "train_seconds")
    variants = []
    for variant in summary["variants"]:
        row = {"variant": variant["variant"], "seeds": variant["seeds"]}
        row.update({k: variant[k] for k in keep if k in variant})
        test = variant.get(f"vs_{summary['baseline']}")
        if test is not None:
            row["vs_baseline"] = test
        variants.append(row)
    entry = {"dataset": dataset, "command": command, "notes": notes,
             "baseline": summary["baseline"], "variants": variants}  # fmt: skip
    results = _load(path)
    results["sweeps"][entry_id] = entry
    atomic_write_json(path, report.with_summary(results, summarize))
    return entry


def add_ensemble(run_dir, entry_id, dataset, command, notes="", path: Path = RESULTS) -> dict:
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text(encoding="utf-8"))
    info = metrics["ensemble"]
    entry = {
        "dataset": dataset,
        "command": command,
        "notes": notes,
        "method": info["method"],
        "members": info["members"],
        "weights": info["weights"],
        "members_test_accuracy": info["members_test_accuracy"],
        "members_val_accuracy": info["members_val_accuracy"],
        "test_accuracy": round(metrics["test"]["accuracy"], 4),
        "val_accuracy_out_of_fold": round(metrics["val"]["accuracy"], 4),
    }
    results = _load(path)
    results["ensembles"][entry_id] = entry
    atomic_write_json(path, report.with_summary(results, summarize))
    return entry


# the headline figures: the best IMDB ensemble beside its best member, and the integrated
# model on bAbI beside the same model without its memory (the ablation's largest effect)
SUMMARY_ENSEMBLE = ("accuracy_imdb_ensemble", "imdb-nbsvm-minilmft-seed0")
SUMMARY_ABLATION = ("accuracy_babi_1k_joint", "babi-1k-joint", "no_memory")


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The page's headline figures (:func:`results.report.summary_fields`); the references
    are peers measured here (nothing published uses these settings)."""
    headlines = []
    key, entry_id = SUMMARY_ENSEMBLE
    if entry := results["ensembles"].get(entry_id):
        best = max(entry["members_test_accuracy"])
        headlines.append(
            report.headline(
                key, entry["test_accuracy"], None,
                task="IMDB sentiment, NBSVM-bi + fine-tuned MiniLM ensemble",
                metric="test accuracy (25,000 reviews)",
                amkit=f"{100 * entry['test_accuracy']:.2f} % ({entry['method']} average of "
                f"{len(entry['members'])} runs, one seed each, weights fit on validation)",
                reference=f"{100 * best:.2f} % (its best member alone)",
            )
        )  # fmt: skip
    key, sweep_id, without = SUMMARY_ABLATION
    if sweep := results["sweeps"].get(sweep_id):
        variants = {v["variant"]: v for v in sweep["variants"]}
        full, other = variants.get(sweep["baseline"]), variants.get(without)
        if full and other:
            headlines.append(
                report.headline(
                    key, round(full["test_accuracy"]["mean"], 4), None,
                    task=f"{sweep['dataset']}, the integrated model",
                    metric="test accuracy",
                    amkit=f"{_mean_std(full)} % (mean ± std of {len(full['seeds'])} seeds)",
                    reference=f"{_mean_std(other)} % (the same model without its memory, "
                    "same seeds)",
                )
            )  # fmt: skip
    return report.summary_fields(headlines)


def _mean_std(variant: dict[str, Any]) -> str:
    """``80.26 ± 1.29``: a sweep variant's test accuracy in %, mean ± std over seeds."""
    stat = variant["test_accuracy"]
    spread = "" if stat.get("std") is None else f" ± {100 * stat['std']:.2f}"
    return f"{100 * stat['mean']:.2f}{spread}"


def _stat(stat: dict[str, Any] | None) -> str:
    if not stat:
        return ""
    text = f"{100 * stat['mean']:.2f}"
    if stat.get("std") is not None:
        text += f" ± {100 * stat['std']:.2f} [{100 * stat['ci95_low']:.1f}, "
        text += f"{100 * stat['ci95_high']:.1f}]"
    return text


def render(results: dict[str, Any]) -> str:
    lines = [
        *report.page_header("The integrated model: ablations and ensembles", "integrated"),
        "Test accuracy in %, mean ± standard deviation over seeds [95 % Student-t interval]. "
        "Every setting is chosen on validation; test is reported, never used to choose. "
        "The last column is a paired t-test (by seed) against the first variant. "
        "Machine: 2 CPU cores, no GPU. The model is described in "
        "[docs/integrated.md](../integrated.md).",
        "",
        *report.summary_lines(summarize(results))[:-1],  # the sections start with a blank
    ]
    for entry_id, entry in results["sweeps"].items():
        lines += ["", f"## Ablation: {entry['dataset']} (`{entry_id}`)", ""]
        header = f"vs {entry['baseline']} (points, p)"
        lines += ["| variant | seeds | test accuracy % | val accuracy % | train min | "
                  f"{header} |", "|---|---|---:|---:|---:|---|"]  # fmt: skip
        for row in entry["variants"]:
            versus = ""
            test = row.get("vs_baseline")
            if test and test.get("mean_difference") is not None:
                p = test.get("p_value")
                versus = f"{100 * test['mean_difference']:+.2f}, "
                versus += f"p = {p:.3f}" if p is not None else "p n/a"
            seconds = row.get("train_seconds", {}).get("mean")
            minutes = f"{seconds / 60:.1f}" if seconds is not None else ""
            cells = [f"`{row['variant']}`", ",".join(map(str, row["seeds"])) or "-",
                     _stat(row.get("test_accuracy")), _stat(row.get("val_accuracy")),
                     minutes, versus or ("baseline" if row["variant"] == entry["baseline"]
                                         else "")]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", f"Command: `{entry['command']}`"]
        if entry.get("notes"):
            lines += ["", entry["notes"]]
    if results["ensembles"]:
        lines += ["", "## Ensembles vs the best single model", ""]
        lines += ["| ensemble | dataset | method | test accuracy % | best member (test) % | "
                  "val accuracy % (out-of-fold) |", "|---|---|---|---:|---:|---:|"]  # fmt: skip
        for entry_id, entry in results["ensembles"].items():
            best = max(entry["members_test_accuracy"]) if entry["members_test_accuracy"] else 0
            lines.append(
                f"| `{entry_id}` | {entry['dataset']} | {entry['method']} | "
                f"{100 * entry['test_accuracy']:.2f} | {100 * best:.2f} | "
                f"{100 * entry['val_accuracy_out_of_fold']:.2f} |"
            )
        lines += [""]
        for entry_id, entry in results["ensembles"].items():
            weights = entry["weights"] or [None] * len(entry["members"])
            members = ", ".join(
                f"{m} (test {100 * a:.2f}{'' if w is None else f', weight {w:.3f}'})"
                for m, a, w in zip(
                    entry["members"], entry["members_test_accuracy"], weights, strict=True
                )  # fmt: skip
            )
            lines.append(f"- `{entry_id}`: `{entry['command']}`. Members: {members}.")
            if entry.get("notes"):
                lines.append(f"  {entry['notes']}")
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m results.integrated_report")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("sweep", "an ablation sweep directory"), ("ensemble", "an ensemble run"),
                       ("runs", "separate runs of each variant")):  # fmt: skip
        add = sub.add_parser(name, help=f"add or replace an entry from {what}")
        if name == "runs":
            add.add_argument(
                "--variant", nargs="+", action="append", required=True, metavar="NAME RUN_DIR",
                help="a variant and its runs (one per seed); the first variant is the baseline",
            )  # fmt: skip
        else:
            add.add_argument("path")
        add.add_argument("--id", required=True)
        add.add_argument("--dataset", required=True)
        add.add_argument("--command", required=True, dest="run_command")
        add.add_argument("--notes", default="")
    sub.add_parser("render", help="write integrated.md from integrated.json")
    args = parser.parse_args(argv)
    if args.command == "runs":
        if any(len(v) < 2 for v in args.variant):
            parser.error("--variant NAME RUN_DIR [RUN_DIR ...]: a variant needs its runs")
        summary = runs_summary({v[0]: v[1:] for v in args.variant})
        add_sweep(None, args.id, args.dataset, args.run_command, args.notes, summary=summary)
    elif args.command in ("sweep", "ensemble"):
        adder = add_sweep if args.command == "sweep" else add_ensemble
        adder(args.path, args.id, args.dataset, args.run_command, args.notes)
    results = report.with_summary(_load(RESULTS), summarize)
    atomic_write_json(RESULTS, results)
    atomic_write_text(RESULTS.with_suffix(".md"), render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
