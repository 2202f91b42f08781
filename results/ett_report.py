"""ETTh1 forecasting results page: seeds of one model at one horizon -> a row of
``docs/results/ett.json``.

    python -m results.ett_report add RUN_DIR [RUN_DIR ...] --id ID --label TEXT \\
        --model NAME --horizon 96 --lookback 336 --command CMD [--notes TEXT]
    python -m results.ett_report peer RESULT.json [RESULT.json ...] --id ID --label TEXT \\
        --horizon 96 --command CMD [--notes TEXT]
    python -m results.ett_report render

``add``: each RUN_DIR is one seed of an ``amkit train`` run on the ``timeseries`` dataset with
the ETT split; the row keeps each seed's test MSE and MAE (over every stride-1 test window,
every step and every column of the scaled values) and validation MSE, with mean and standard
deviation. ``peer``: rows measured here by another library (``results/ett_peer.py``,
``results/ett_statistical.py``), one JSON per seed. The headline figures are, per horizon, the
amkit row with the lowest mean *validation* MSE (chosen without looking at test).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

from amkit.io import atomic_write_json
from amkit.textfile import read_json
from results import report
from results.report import finish_page, mean_std, mean_std_cell

RESULTS = Path("docs/results/ett.json")
METRICS = ("mse", "mae")
HORIZONS = (96, 192, 336, 720)

_CHECKED = "horizon 96 checked against the data's README; the others as read from the table"
PUBLISHED: dict[str, dict[str, Any]] = {
    "patchtst64": {"label": "PatchTST/64", "lookback": 512,
                   "mse": {96: 0.370, 192: 0.413, 336: 0.422, 720: 0.447},
                   "mae": {96: 0.400, 192: 0.429, 336: 0.440, 720: 0.468},
                   "source": f"Nie et al., ICLR 2023, Table 3 ({_CHECKED})"},
    "patchtst42": {"label": "PatchTST/42", "lookback": 336,
                   "mse": {96: 0.375, 192: 0.414, 336: 0.431, 720: 0.449},
                   "mae": {96: 0.399, 192: 0.421, 336: 0.436, 720: 0.466},
                   "source": f"Nie et al., ICLR 2023, Table 3 ({_CHECKED})"},
    "dlinear": {"label": "DLinear", "lookback": 336,
                "mse": {96: 0.375, 192: 0.405, 336: 0.439, 720: 0.472},
                "mae": {96: 0.399, 192: 0.416, 336: 0.443, 720: 0.490},
                "source": f"Zeng et al., AAAI 2023 ({_CHECKED})"},
    "itransformer": {"label": "iTransformer", "lookback": 96,
                     "mse": {96: 0.386, 192: 0.441, 336: 0.487, 720: 0.503},
                     "mae": {96: 0.405, 192: 0.436, 336: 0.458, 720: 0.491},
                     "source": f"Liu et al., ICLR 2024 ({_CHECKED})"},
    "autoformer": {"label": "Autoformer", "lookback": 96,
                   "mse": {96: 0.449, 192: 0.500, 336: 0.521, 720: 0.514},
                   "mae": {96: 0.459, 192: 0.482, 336: 0.496, 720: 0.512},
                   "source": f"Wu et al., NeurIPS 2021, as tabulated by later papers ({_CHECKED})"},
    "informer": {"label": "Informer", "lookback": 96,
                 "mse": {96: 0.865, 192: 1.008, 336: 1.107, 720: 1.181},
                 "mae": {96: 0.713, 192: 0.792, 336: 0.809, 720: 0.865},
                 "source": f"Zhou et al., AAAI 2021 ({_CHECKED})"},
}  # fmt: skip


def _fields(label: str, model: str, horizon: int, lookback: int, command: str, notes: str):
    if horizon not in HORIZONS:
        raise ValueError(f"horizon must be one of {HORIZONS}, got {horizon}")
    return {"label": label, "model": model, "horizon": horizon, "lookback": lookback,
            "command": command, "notes": notes, "kind": "amkit"}  # fmt: skip


def add_row(
    run_dirs: list[str | Path], row_id: str, label: str, model: str, horizon: int,
    lookback: int, command: str, notes: str = "", path: Path = RESULTS,
) -> dict[str, Any]:  # fmt: skip
    """Add or replace the amkit row ``row_id`` from one run directory per seed."""
    fields = _fields(label, model, horizon, lookback, command, notes)
    return report.store_row(path, PUBLISHED, row_id, fields, run_dirs, METRICS, "mse",
                            summarize=summarize)  # fmt: skip


def add_peer(
    result_files: list[str | Path], row_id: str, label: str, horizon: int, command: str,
    notes: str = "", path: Path = RESULTS,
) -> dict[str, Any]:  # fmt: skip
    """Add or replace a row measured by another library: one result JSON per seed."""
    per_seed = [read_json(f) for f in result_files]
    for record, source in zip(per_seed, result_files, strict=True):
        if record.get("horizon") != horizon:
            raise ValueError(f"{source}: horizon {record.get('horizon')}, expected {horizon}")
    row = {"label": label, "model": per_seed[0]["model"], "horizon": horizon,
           "lookback": per_seed[0].get("lookback"), "command": command, "notes": notes,
           "kind": "peer", "seeds": [r.get("seed", 0) for r in per_seed],
           "seconds": round(statistics.fmean(r["seconds"] for r in per_seed), 1),
           "per_seed": per_seed}  # fmt: skip
    row.update({k: mean_std([r[k] for r in per_seed]) for k in METRICS})
    results = report.load_results(path, PUBLISHED)
    results["rows"][row_id] = row
    atomic_write_json(path, report.with_summary(results, summarize))
    return row


def best_rows(results: dict[str, Any]) -> dict[int, tuple[str, dict[str, Any]]]:
    """Per horizon, the amkit row with the lowest mean validation MSE."""
    best: dict[int, tuple[str, dict[str, Any]]] = {}
    for key, row in results["rows"].items():
        if row.get("kind") != "amkit" or "val_mse" not in row:
            continue
        h = row["horizon"]
        if h not in best or row["val_mse"]["mean"] < best[h][1]["val_mse"]["mean"]:
            best[h] = (key, row)
    return best


def _named(row: dict[str, Any]) -> str:
    """The row's label with its lookback, said once."""
    label = row["label"]
    return label if "lookback" in label else f"{label}, lookback {row['lookback']}"


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Headline figures: ``mse_H`` and ``mae_H`` of the best amkit row on validation at each
    horizon H, beside PatchTST/64's published figure."""
    reference = results["published"]["patchtst64"]
    headlines = []
    for metric in METRICS:
        for h, (_, row) in sorted(best_rows(results).items()):
            published = reference[metric].get(h, reference[metric].get(str(h)))
            headlines.append(
                report.headline(
                    f"{metric}_{h}", row[metric]["mean"], published,
                    task=f"ETTh1 multivariate, horizon {h}",
                    metric=f"test {metric.upper()} (scaled, every window)",
                    amkit=f"{mean_std_cell(row[metric], 3)} ({_named(row)}, mean ± std of "
                    f"{len(row['seeds'])} seeds)",
                    reference=f"PatchTST/64 {published:.3f} (Nie et al., ICLR 2023)",
                )
            )  # fmt: skip
    return report.summary_fields(headlines)


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    return f"{mean_std_cell(row['mse'], 3)} / {mean_std_cell(row['mae'], 3)}"


def render(results: dict[str, Any]) -> str:
    lines = report.page_header("ETTh1: long-horizon forecasting", "ett")
    lines += report.summary_lines(results)
    lines += [
        "Protocol (the data's README): rows 0-8,640 train, 8,640-11,520 validation, "
        "11,520-14,400 test; validation and test windows start `lookback` rows earlier; every "
        "column scaled with the training rows' mean and standard deviation; all 7 columns in "
        "and out; MSE / MAE over every stride-1 test window (2,880 - horizon + 1 of them, "
        "none dropped), every step and every column. Cells: test MSE / MAE, mean ± std over "
        "seeds.",
        "",
        "| model | lookback | " + " | ".join(f"H={h}" for h in HORIZONS) + " | seeds | source |",
        "|---|---|" + "---|" * len(HORIZONS) + "---|---|",
    ]
    groups: dict[str, dict[int, dict[str, Any]]] = {}
    for row in results["rows"].values():
        groups.setdefault(row["label"], {})[row["horizon"]] = row
    for label, by_h in groups.items():
        first = next(iter(by_h.values()))
        seeds = sorted({len(r["seeds"]) for r in by_h.values()})
        source = "measured here" if first["kind"] == "amkit" else "peer, measured here"
        name = f"**amkit {label}**" if first["kind"] == "amkit" else label
        cells = " | ".join(_cell(by_h.get(h)) for h in HORIZONS)
        lines.append(f"| {name} | {first['lookback']} | {cells} | "
                     f"{'/'.join(map(str, seeds))} | {source} |")  # fmt: skip
    for entry in results["published"].values():
        cells = " | ".join(
            f"{entry['mse'].get(h, entry['mse'].get(str(h))):.3f} / "
            f"{entry['mae'].get(h, entry['mae'].get(str(h))):.3f}"
            for h in HORIZONS
        )
        lines.append(f"| {entry['label']} (published) | {entry['lookback']} | {cells} |  | "
                     f"{entry['source']} |")  # fmt: skip
    lines += ["", "## Rows", ""]
    for key, row in results["rows"].items():
        val = f"; validation MSE {mean_std_cell(row['val_mse'], 4)}" if "val_mse" in row else ""
        lines.append(
            f"- **{row['label']}, H={row['horizon']}** (`{key}`): `{row['command']}`; seeds "
            f"{row['seeds']}; test MSE per seed {[round(s['mse'], 4) for s in row['per_seed']]}"
            f"{val}; training {row['seconds'] / 60:.1f} min per run (mean; 2 shared cores)."
            + (f" {row['notes']}" if row.get("notes") else "")
        )
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser, add, more = report.rows_cli("ett_report", "ett", {"peer": "add a peer library's row"})
    add.add_argument("--model", required=True)
    add.add_argument("--horizon", type=int, required=True)
    add.add_argument("--lookback", type=int, required=True)
    peer = more["peer"]
    peer.add_argument("results", nargs="+")
    for name in ("--id", "--label"):
        peer.add_argument(name, required=True)
    peer.add_argument("--horizon", type=int, required=True)
    peer.add_argument("--command", required=True, dest="run_command")
    peer.add_argument("--notes", default="")
    args = parser.parse_args(argv)
    if args.command == "add":
        add_row(args.run_dirs, args.id, args.label, args.model, args.horizon, args.lookback,
                args.run_command, args.notes)  # fmt: skip
    elif args.command == "peer":
        add_peer(args.results, args.id, args.label, args.horizon, args.run_command, args.notes)
    report.write_page(RESULTS, PUBLISHED, render, summarize)
    return 0


if __name__ == "__main__":
    sys.exit(main())
