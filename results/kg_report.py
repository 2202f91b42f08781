"""Link prediction page: seeds of one model on one benchmark -> a row of
``docs/results/kg.json``.

    python -m results.kg_report add RUN_DIR [RUN_DIR ...] --id ID --label TEXT \\
        --model transe|distmult|complex|rotate --dataset wn18rr|fb15k237 --command CMD \\
        [--notes TEXT]
    python -m results.kg_report render

Each RUN_DIR is one seed of ``amkit kg-train kg/<dataset>_<model>``. A row keeps each
seed's filtered test MRR and hits@1/3/10 (PyKEEN's rank-based evaluator: both directions,
realistic rank, train + valid + test filtered), its validation MRR (model selection), the
minutes per run (training, validations and the final scoring) and whether the time budget
stopped it (``budget_limited``). The published rows are the RotatE paper's tables (Sun et al.
2019), which also list ConvE (Dettmers et al. 2018).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from results import report
from results.report import finish_page, finished_metrics, mean_std_cell

RESULTS = Path("docs/results/kg.json")
METRICS = ("mrr", "hits@1", "hits@3", "hits@10")
DATASETS = {"wn18rr": "WN18RR", "fb15k237": "FB15k-237"}
MODELS = ("transe", "distmult", "complex", "rotate")
# the targets: the best row within this much MRR of the published RotatE figure
TOLERANCE = {"wn18rr": 0.02, "fb15k237": 0.03}

_ROTATE = "Sun et al., ICLR 2019, Table 5"
PUBLISHED: dict[str, dict[str, Any]] = {
    "rotate-wn18rr": {"label": "RotatE", "dataset": "wn18rr", "mrr": 0.476, "hits@1": 0.428,
                      "hits@3": 0.492, "hits@10": 0.571, "source": _ROTATE},
    "rotate-fb15k237": {"label": "RotatE", "dataset": "fb15k237", "mrr": 0.338,
                        "hits@1": 0.241, "hits@3": 0.375, "hits@10": 0.533, "source": _ROTATE},
    "conve-wn18rr": {"label": "ConvE", "dataset": "wn18rr", "mrr": 0.43, "hits@1": 0.40,
                     "hits@3": 0.44, "hits@10": 0.52, "source": f"{_ROTATE} (from Dettmers "
                     "et al. 2018)"},
    "conve-fb15k237": {"label": "ConvE", "dataset": "fb15k237", "mrr": 0.325, "hits@1": 0.237,
                       "hits@3": 0.356, "hits@10": 0.501, "source": f"{_ROTATE} (from Dettmers "
                       "et al. 2018)"},
}  # fmt: skip
SHIPPED_NOTE = (
    "`amkit` ships a config for every row: `amkit/configs/kg/{wn18rr,fb15k237}_"
    "{transe,distmult,complex,rotate}.yaml`. Each run saves its best model's vectors in "
    "`RUN/vectors` (`KGEmbeddings.save`), the folder knowledge-fusion configs load "
    "(`model.knowledge=glove model.vectors=RUN/vectors`)."
)


def run_metrics(run_dir: str | Path) -> dict[str, Any]:
    """A finished ``kg-train`` run's metrics, its ``timings.train_seconds`` replaced by the
    whole run's time (training, validations and the test scoring): the page's minutes per
    run."""
    metrics = finished_metrics(run_dir)
    timings = metrics.get("timings") or {}
    total = sum(timings.get(k, 0.0) for k in ("train_seconds", "eval_seconds", "test_seconds"))
    return {**metrics, "timings": {**timings, "train_seconds": round(total, 3)}}


def add_row(
    run_dirs: list[str | Path], row_id: str, label: str, model: str, dataset: str,
    command: str, notes: str = "", path: Path = RESULTS,
) -> dict[str, Any]:  # fmt: skip
    """Add or replace the row ``row_id`` from one run directory per seed."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {tuple(DATASETS)}, got {dataset!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    limited = [finished_metrics(d).get("budget_limited", False) for d in run_dirs]
    fields = {"label": label, "model": model, "dataset": dataset, "command": command,
              "notes": notes, "budget_limited": any(limited),
              "curves": [learning_curve(d) for d in run_dirs]}  # fmt: skip
    return report.store_row(path, PUBLISHED, row_id, fields, run_dirs, METRICS, "mrr",
                            metrics_of=run_metrics, summarize=summarize)  # fmt: skip


def learning_curve(run_dir: str | Path) -> list[list[float]]:
    """``[[epoch, minutes, validation MRR], ...]`` of a run's validated epochs, from its
    ``metrics.jsonl`` (``[]`` without one)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    curve = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else {}
        if "val_mrr" in record:
            curve.append([record["epoch"], round(record["seconds"] / 60, 1),
                          round(record["val_mrr"], 4)])  # fmt: skip
    return curve


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Headline figures: per benchmark the best amkit row's mean test MRR (any model, chosen
    by validation MRR), beside RotatE's published MRR."""
    headlines = []
    for dataset, name in DATASETS.items():
        rows = [r for r in results["rows"].values() if r["dataset"] == dataset]
        if not rows:
            continue
        best = max(rows, key=lambda r: r["val_mrr"]["mean"])
        published = results["published"][f"rotate-{dataset}"]
        seeds = len(best["seeds"])
        budget = "; budget-limited" if best.get("budget_limited") else ""
        headlines.append(
            report.headline(
                f"mrr_{dataset}", best["mrr"]["mean"], published["mrr"],
                task=f"link prediction on {name} (filtered)", metric="test MRR",
                amkit=f"{mean_std_cell(best['mrr'], 3)} ({best['label']}, mean of {seeds} "
                f"seed{'s' if seeds > 1 else ''}{budget}; target >= "
                f"{published['mrr'] - TOLERANCE[dataset]:.3f})",
                reference=f"{published['mrr']:.3f} (RotatE, {published['source']})",
            )
        )  # fmt: skip
    return report.summary_fields(headlines)


def render(results: dict[str, Any]) -> str:
    lines = report.page_header("Link prediction on WN18RR and FB15k-237", "kg")
    lines += report.summary_lines(results)
    lines += [
        "Filtered ranking (train, valid and test triples removed from the candidates), head "
        "and tail prediction averaged, realistic rank (ties count half), PyKEEN's "
        "`RankBasedEvaluator`; every entity of the three splits is a candidate. Model "
        "selection on validation MRR; at most 2 hours per run on 2 CPU cores "
        "(`train.time_limit_minutes`), runs the budget stopped are marked budget-limited. "
        "Targets: the best row within "
        + " and ".join(f"{TOLERANCE[d]:.2f} MRR of RotatE's on {n}" for d, n in DATASETS.items())
        + ".",
        "",
    ]
    for dataset, name in DATASETS.items():
        lines += [
            f"## {name}",
            "",
            "| model | MRR | hits@1 | hits@3 | hits@10 | seeds | min / run |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in (r for r in results["rows"].values() if r["dataset"] == dataset):
            cells = " | ".join(mean_std_cell(row[m], 3) for m in METRICS)
            mark = " (budget-limited)" if row.get("budget_limited") else ""
            lines.append(
                f"| **amkit {row['label']}**{mark} | {cells} | {len(row['seeds'])} | "
                f"{row['seconds'] / 60:.0f} |"
            )
        for entry in results["published"].values():
            if entry["dataset"] == dataset:
                cells = " | ".join(f"{entry[m]:.3f}" for m in METRICS)
                lines.append(f"| {entry['label']} (published) | {cells} |  |  |")
        lines.append("")
    lines += ["## Rows", ""]
    for key, row in results["rows"].items():
        lines.append(
            f"- **{row['label']}, {DATASETS[row['dataset']]}** (`{key}`): `{row['command']}`; "
            f"seeds {row['seeds']}; test MRR per seed {[s['mrr'] for s in row['per_seed']]}; "
            f"validation MRR {mean_std_cell(row['val_mrr'], 3)}; "
            f"{row['seconds'] / 60:.0f} min per run (mean, training + validations + test; "
            f"{row['machine']}, shared with other jobs)."
            + (" Stopped by the time budget." if row.get("budget_limited") else "")
            + (f" {row['notes']}" if row.get("notes") else "")
        )
        for seed, curve in zip(row["seeds"], row.get("curves") or [], strict=False):
            points = ", ".join(f"{e}: {mrr:.3f} ({m:.0f} min)" for e, m, mrr in curve)
            lines.append(f"  Learning curve, seed {seed} (epoch: validation MRR): {points}.")
    lines += ["", "## Vectors", "", SHIPPED_NOTE]
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser, add, _ = report.rows_cli("kg_report", "kg")
    add.add_argument("--model", required=True, choices=MODELS)
    add.add_argument("--dataset", required=True, choices=tuple(DATASETS))
    args = parser.parse_args(argv)
    if args.command == "add":
        add_row(args.run_dirs, args.id, args.label, args.model, args.dataset,
                args.run_command, args.notes)  # fmt: skip
    report.write_page(RESULTS, PUBLISHED, render, summarize)
    return 0


if __name__ == "__main__":
    sys.exit(main())
