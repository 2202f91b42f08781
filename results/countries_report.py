"""Countries results page: seeds of one model on one subset -> a row of
``docs/results/countries.json``.

    python -m results.countries_report add RUN_DIR [RUN_DIR ...] --id ID --label TEXT \\
        --model NAME --subset S3 --command CMD [--notes TEXT]
    python -m results.countries_report render

Each RUN_DIR is one seed (an ``amkit train countries/...`` run). A row keeps every seed's test
AUC-PR over the 24 x 5 ``locatedIn(country, region)`` queries (scikit-learn's
``average_precision_score`` over the flattened scores, as the Neural Theorem Provers'
evaluation computes it) and its validation AUC-PR on ``dev_held_out.txt``, with mean and
standard deviation. The page lays the rows out as one line per model with the three subsets
side by side, beside the published rows of the data's README.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from results import report
from results.report import finish_page, mean_std_cell

RESULTS = Path("docs/results/countries.json")
METRICS = ("auc_pr", "candidate_accuracy")
SUBSETS = ("S1", "S2", "S3")
# the model whose rows give the headline figures, fixed before any run (not the best on test)
HEADLINE_MODEL = "graph_kvmem"

PUBLISHED: dict[str, dict[str, Any]] = {
    "conve": {"label": "ConvE", "S1": 1.00, "S2": 0.99, "S3": 0.86,
              "source": "Dettmers et al., AAAI 2018"},
    "distmult": {"label": "DistMult", "S1": 1.00, "S2": 0.72, "S3": 0.52,
                 "source": "Dettmers et al., AAAI 2018"},
    "complex": {"label": "ComplEx", "S1": 0.97, "S2": 0.57, "S3": 0.43,
                "source": "Dettmers et al., AAAI 2018"},
    "ntp-lambda": {"label": "NTP-lambda", "S1": 1.00, "S2": 0.93, "S3": 0.77,
                   "source": "Rocktäschel & Riedel, NeurIPS 2017"},
    "minerva": {"label": "MINERVA", "S1": 1.00, "S2": 0.92, "S3": 0.95,
                "source": "Das et al., ICLR 2018"},
}  # fmt: skip
TARGETS = {"S1": 1.00, "S2": 0.99, "S3": 0.96}


def add_row(
    run_dirs: list[str | Path], row_id: str, label: str, model: str, subset: str,
    command: str, notes: str = "", path: Path = RESULTS,
) -> dict[str, Any]:  # fmt: skip
    """Add or replace the row ``row_id`` from one run directory per seed."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    fields = {"label": label, "model": model, "subset": subset, "command": command,
              "notes": notes}  # fmt: skip
    return report.store_row(path, PUBLISHED, row_id, fields, run_dirs, METRICS, "auc_pr",
                            summarize=summarize)  # fmt: skip


def _by_model(results: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> subset -> row."""
    models: dict[str, dict[str, dict[str, Any]]] = {}
    for row in results["rows"].values():
        models.setdefault(row["model"], {})[row["subset"]] = row
    return models


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Headline figures: the key-value memory's mean test AUC-PR per subset, beside the best
    published row of that subset."""
    rows = _by_model(results).get(HEADLINE_MODEL, {})
    headlines = []
    for subset in SUBSETS:
        row = rows.get(subset)
        if row is None:
            continue
        best = max(results["published"].values(), key=lambda p: p[subset])
        headlines.append(
            report.headline(
                f"auc_pr_{subset.lower()}", row["auc_pr"]["mean"], best[subset],
                task=f"Countries {subset}, {row['label']}",
                metric="test AUC-PR (24 x 5 queries)",
                amkit=f"{mean_std_cell(row['auc_pr'], 3)} (mean ± std of "
                f"{len(row['seeds'])} seeds)",
                reference=f"{best[subset]:.2f} ({best['label']}, {best['source']})",
            )
        )  # fmt: skip
    return report.summary_fields(headlines)


def render(results: dict[str, Any]) -> str:
    lines = report.page_header("Countries S1-S3: multi-hop reasoning over a graph", "countries")
    lines += report.summary_lines(results)
    lines += [
        "Task: for each of the 24 test countries, score `locatedIn(country, region)` for the 5 "
        "regions; AUC-PR over the 120 scored pairs (scikit-learn's `average_precision_score`, "
        "as the Neural Theorem Provers' evaluation computes it). S1 hides the test countries' "
        "region facts, S2 also their subregion facts, S3 also their neighbours' region "
        "facts. Model selection on `dev_held_out.txt` (validation AUC-PR). Targets: S1 "
        f"{TARGETS['S1']:.2f}, S2 >= {TARGETS['S2']:.2f}, S3 >= {TARGETS['S3']:.2f}.",
        "",
        "| model | S1 | S2 | S3 | seeds | train s / run | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for subsets in _by_model(results).values():
        cells, seeds, seconds = [], set(), []
        for subset in SUBSETS:
            row = subsets.get(subset)
            cells.append(mean_std_cell(row["auc_pr"], 3) if row else "")
            if row:
                seeds.add(len(row["seeds"]))
                seconds.append(row["seconds"])
        label = next(iter(subsets.values()))["label"]
        time = f"{max(seconds):.0f}" if seconds else ""
        lines.append(
            f"| **amkit {label}** | {' | '.join(cells)} | {'/'.join(map(str, sorted(seeds)))} "
            f"| {time} | this page |"
        )
    for entry in results["published"].values():
        cells = " | ".join(f"{entry[s]:.2f}" for s in SUBSETS)
        lines.append(f"| {entry['label']} (published) | {cells} |  |  | {entry['source']} |")
    lines += ["", "AUC-PR as mean ± std over seeds. Published rows: the data's README, from "
              "secondary copies of the papers' tables.", "", "## Rows", ""]  # fmt: skip
    for key, row in results["rows"].items():
        lines.append(
            f"- **{row['label']}, {row['subset']}** (`{key}`): `{row['command']}`; seeds "
            f"{row['seeds']}; test AUC-PR per seed "
            f"{[s['auc_pr'] for s in row['per_seed']]}; validation AUC-PR "
            f"{mean_std_cell(row['val_auc_pr'], 3)}; training {row['seconds']:.0f} s per run "
            f"(mean; {row['machine']}, shared with other jobs)."
            + (f" {row['notes']}" if row.get("notes") else "")
        )
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser, add, _ = report.rows_cli("countries_report", "countries")
    add.add_argument("--model", required=True)
    add.add_argument("--subset", required=True, choices=SUBSETS)
    args = parser.parse_args(argv)
    if args.command == "add":
        add_row(args.run_dirs, args.id, args.label, args.model, args.subset,
                args.run_command, args.notes)  # fmt: skip
    report.write_page(RESULTS, PUBLISHED, render, summarize)
    return 0


if __name__ == "__main__":
    sys.exit(main())
