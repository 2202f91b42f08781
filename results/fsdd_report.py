"""Spoken-digit results page: seeds of one model -> a row of ``docs/results/fsdd.json``.

    python -m results.fsdd_report add RUN_DIR [RUN_DIR ...] --id ID --label TEXT \\
        --command CMD [--notes TEXT]
    python -m results.fsdd_report add-loso RUN_DIR [RUN_DIR ...] --id ID --label TEXT \
        --command CMD [--notes TEXT]
    python -m results.fsdd_report render

Each RUN_DIR is one seed of an ``amkit train fsdd/...`` run (or an ``amkit baseline
fsdd/mfcc_dtw`` run) on the Free Spoken Digit Dataset's official split (takes 0-4 of every
speaker are the test set). A row keeps each seed's test accuracy and, where the run
directory holds them (``tools/fsdd_noisy_eval.sh`` writes ``eval_test_white_10db.json`` and
the like with ``amkit evaluate``), its accuracy on the test set with white or babble noise
added at 10 and 0 dB SNR (seeded; babble mixed from training speakers only), and on
synthesised speech of voices never heard in training (``tools/fsdd_synthetic_eval.sh``).
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any

import yaml

from amkit.io import atomic_write_json
from amkit.textfile import read_json
from results import report
from results.report import finish_page, mean_std_cell

RESULTS = Path("docs/results/fsdd.json")
NOISY = ("test_white_10db", "test_babble_10db", "test_white_0db", "test_babble_0db")
# extra test sets scored with ``amkit evaluate``: the noisy ones and synthesised speech
# (``tools/fsdd_synthetic_eval.sh``: espeak-ng's test voices, none heard in training)
EXTRA_SPLITS = (*NOISY, "synthetic")
PUBLISHED: dict[str, dict[str, Any]] = {}  # FSDD has no agreed published protocol figure
# the row whose noise, leave-one-speaker-out and synthetic-speech numbers are headline figures,
# fixed before any run (the shipped config); the test accuracy headline is the row best on
# validation (best_row)
HEADLINE_ROW = "gru-attention"
BASELINE_ROW = "mfcc-dtw"  # the classical baseline: never a headline
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")


def _metrics(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``metrics.json`` with its noisy-test accuracies (where evaluated) added to
    ``test`` as ``accuracy_test_white_10db`` etc."""
    run_dir = Path(run_dir)
    metrics = report.finished_metrics(run_dir)
    metrics.setdefault("timings", {"train_seconds": 0.0})
    metrics["timings"].setdefault("train_seconds", 0.0)
    for split in EXTRA_SPLITS:
        path = run_dir / f"eval_{split}.json"
        if path.is_file():
            metrics["test"][f"accuracy_{split}"] = read_json(path)["accuracy"]
    return metrics


def add_row(
    run_dirs: list[str | Path], row_id: str, label: str, command: str, notes: str = "",
    path: Path = RESULTS,
) -> dict[str, Any]:  # fmt: skip
    """Add or replace the row ``row_id`` from one run directory per seed; the noisy
    accuracies are kept when every seed has them."""
    found = [set(_metrics(d)["test"]) for d in run_dirs]
    metrics = (
        "accuracy",
        *(f"accuracy_{s}" for s in EXTRA_SPLITS if all(f"accuracy_{s}" in f for f in found)),
    )
    fields = {"label": label, "command": command, "notes": notes}
    return report.store_row(path, PUBLISHED, row_id, fields, run_dirs, metrics, "accuracy",
                            metrics_of=_metrics, summarize=summarize)  # fmt: skip


def _held_out_speaker(run_dir: str | Path) -> str:
    """The speaker a leave-one-speaker-out run held out (``data.test_speaker`` of its
    ``config.yaml``), or a clear error when the run is not one."""
    path = Path(run_dir) / "config.yaml"
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("data", {})
    if data.get("split") != "loso" or data.get("test_speaker") not in SPEAKERS:
        raise ValueError(f"{path}: not a leave-one-speaker-out run (data.split: loso, "
                         f"data.test_speaker one of {', '.join(SPEAKERS)})")  # fmt: skip
    return data["test_speaker"]


def add_loso_row(
    run_dirs: list[str | Path], row_id: str, label: str, command: str, notes: str = "",
    path: Path = RESULTS,
) -> dict[str, Any]:  # fmt: skip
    """Add or replace the leave-one-speaker-out row ``row_id``: one run per held-out speaker
    (``data.split: loso``); its ``accuracy`` is the mean over the speakers, as the protocol
    reports it (complete only with all six)."""
    per_speaker, seconds, seeds = {}, [], set()
    for run_dir in run_dirs:
        speaker = _held_out_speaker(run_dir)
        if speaker in per_speaker:
            raise ValueError(f"{run_dir}: a second run holding out {speaker}")
        metrics = _metrics(run_dir)
        per_speaker[speaker] = round(metrics["test"]["accuracy"], 4)
        seconds.append(metrics["timings"]["train_seconds"])
        seeds.add(metrics.get("seed"))
    results = report.load_results(path, PUBLISHED)
    values = [per_speaker[s] for s in SPEAKERS if s in per_speaker]
    row = {
        "label": label, "command": command, "notes": notes,
        "per_speaker": {s: per_speaker[s] for s in SPEAKERS if s in per_speaker},
        "accuracy": report.mean_std(values), "seeds": sorted(seeds),
        "seconds": round(sum(seconds) / len(seconds), 1),
        "machine": f"{platform.machine()}, 2 cores",
    }  # fmt: skip
    results.setdefault("loso", {})[row_id] = row
    atomic_write_json(path, report.with_summary(results, summarize))
    return row


def _loso_lines(results: dict[str, Any]) -> list[str]:
    """The leave-one-speaker-out table: test accuracy on each held-out speaker's 500
    recordings, and the mean over the six."""
    rows = results.get("loso") or {}
    if not rows:
        return [
            "Not measured yet: leave-one-speaker-out accuracy (`data.split: loso`) and whether "
            "synthesised training speech helps it.",
            "",
        ]
    lines = [
        "## Leave one speaker out",
        "",
        "Each speaker's 500 recordings are the test set of a model trained on the other five "
        "speakers (10 % of them held out for validation); cells: test accuracy, one seed; "
        "mean ± std over the six speakers.",
        "",
        "| model | " + " | ".join(SPEAKERS) + " | mean over speakers | train min / run |",
        "|---|" + "---|" * (len(SPEAKERS) + 2),
    ]
    for row in rows.values():
        cells = " | ".join(
            f"{row['per_speaker'][s]:.4f}" if s in row["per_speaker"] else "" for s in SPEAKERS
        )
        count = len(row["per_speaker"])
        mean = mean_std_cell(row["accuracy"], 4) + (f" ({count} of 6)" if count < 6 else "")
        lines.append(f"| **{row['label']}** | {cells} | {mean} | {row['seconds'] / 60:.1f} |")
    lines.append("")
    for key, row in rows.items():
        lines.append(
            f"- **{row['label']}** (`{key}`): `{row['command']}`; seeds {row['seeds']}."
            + (f" {row['notes']}" if row.get("notes") else "")
        )
    return [*lines, ""]


def best_row(results: dict[str, Any]) -> str:
    """The amkit row (the classical baseline aside) with the best validation accuracy (mean
    over its seeds); a tie goes to the row with more seeds, then to the earlier row (``max``
    keeps the first of equal keys)."""
    rows = {k: r for k, r in results["rows"].items() if k != BASELINE_ROW}
    return max(rows, key=lambda k: (rows[k]["val_accuracy"]["mean"], len(rows[k]["seeds"])))


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Headline figures: test ``accuracy`` of the amkit row best on validation
    (:func:`best_row`), and the shipped GRU + attention config's ``accuracy_noise_10db`` (the
    mean of white and babble noise at 10 dB), ``accuracy_loso`` and ``accuracy_synthetic``,
    as fractions."""
    row = results["rows"].get(HEADLINE_ROW)
    if row is None:
        return report.summary_fields([])
    seeds = f"mean ± std of {len(row['seeds'])} seeds"
    baseline = results["rows"].get(BASELINE_ROW)
    reference = (
        f"{baseline['accuracy']['mean']:.4f} (MFCC + DTW 1-NN, measured here)" if baseline else ""
    )
    best = results["rows"][best_row(results)]
    runs = f"mean ± std of {len(best['seeds'])} seeds" if len(best["seeds"]) > 1 else "one run"
    headlines = [
        report.headline(
            "accuracy", best["accuracy"]["mean"], None,
            task=f"spoken digits (FSDD, official split), {best['label']} (the row best on "
            "validation)",
            metric="test accuracy (300 recordings)",
            amkit=f"{mean_std_cell(best['accuracy'], 4)} ({runs}; target 0.99)",
            reference=reference,
        )
    ]  # fmt: skip
    noisy = [row.get(f"accuracy_{s}") for s in ("test_white_10db", "test_babble_10db")]
    if all(noisy):
        value = round((noisy[0]["mean"] + noisy[1]["mean"]) / 2, 4)
        headlines.append(
            report.headline(
                "accuracy_noise_10db", value, None,
                task=f"spoken digits with noise at 10 dB SNR, {row['label']}",
                metric="test accuracy, mean of white and babble noise",
                amkit=f"{value:.4f} (white {noisy[0]['mean']:.4f}, babble {noisy[1]['mean']:.4f}; "
                f"{seeds})",
                reference="the same model on clean speech: "
                f"{row['accuracy']['mean']:.4f}",
            )
        )  # fmt: skip
    loso = (results.get("loso") or {}).get(HEADLINE_ROW)
    if loso and len(loso["per_speaker"]) == len(SPEAKERS):
        headlines.append(
            report.headline(
                "accuracy_loso", loso["accuracy"]["mean"], None,
                task=f"spoken digits, leave one speaker out, {loso['label']}",
                metric="test accuracy, mean over the 6 held-out speakers",
                amkit=f"{mean_std_cell(loso['accuracy'], 4)} (one seed per speaker)",
                reference="the same model on the official split: "
                f"{row['accuracy']['mean']:.4f}",
            )
        )  # fmt: skip
    synthetic = row.get("accuracy_synthetic")
    if synthetic:
        headlines.append(
            report.headline(
                "accuracy_synthetic", synthetic["mean"], None,
                task=f"synthesised spoken digits (espeak-ng, 4 unseen voices), {row['label']}",
                metric="accuracy on 400 recordings, trained on real speech only",
                amkit=f"{mean_std_cell(synthetic, 4)} ({seeds})",
                reference="the same model on real test speech: "
                f"{row['accuracy']['mean']:.4f}",
            )
        )  # fmt: skip
    return report.summary_fields(headlines)


def _cell(row: dict[str, Any], key: str) -> str:
    return mean_std_cell(row[key], 4) if key in row else ""


def render(results: dict[str, Any]) -> str:
    lines = report.page_header("Spoken digits (Free Spoken Digit Dataset)", "fsdd")
    lines += report.summary_lines(results)
    lines += [
        "Protocol: the dataset's official split (takes 0-4 of each of the 6 speakers are the "
        "300 test recordings; the other 2,700 train, 10 % of them held out for validation). "
        "Noisy test sets: the same 300 recordings with white noise or babble (a mix of "
        "training speakers' recordings) added at the stated SNR, seeded. Cells: accuracy, "
        "mean ± std over seeds.",
        "",
        "Synthesised: 400 recordings of the digits by 4 espeak-ng voices (accents and "
        "variants none of the training-voice set has; `amkit data synth-digits runs/synth-test "
        "--n-per-digit 10 --voices test --seed 1`), resampled to 8 kHz, scored by models "
        "trained on real speech only.",
        "",
        "| model | test | white 10 dB | babble 10 dB | white 0 dB | babble 0 dB | synthesised "
        "| seeds | train min / run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"].values():
        cells = " | ".join(_cell(row, f"accuracy_{s}") for s in EXTRA_SPLITS)
        minutes = f"{row['seconds'] / 60:.1f}" if row["seconds"] else ""  # DTW: nothing trained
        lines.append(
            f"| **{row['label']}** | {_cell(row, 'accuracy')} | {cells} | {len(row['seeds'])} "
            f"| {minutes} |"
        )
    lines += [
        "",
        *_loso_lines(results),
        "## Rows",
        "",
    ]
    for key, row in results["rows"].items():
        lines.append(
            f"- **{row['label']}** (`{key}`): `{row['command']}`; seeds {row['seeds']}; test "
            f"accuracy per seed {[s['accuracy'] for s in row['per_seed']]}; validation "
            f"accuracy {mean_std_cell(row['val_accuracy'], 4)}; training "
            f"{row['seconds'] / 60:.1f} min per run (mean; {row['machine']}, shared with "
            "other jobs)." + (f" {row['notes']}" if row.get("notes") else "")
        )
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser, add, more = report.rows_cli(
        "fsdd_report", "fsdd", {"add-loso": "add or replace a leave-one-speaker-out row"}
    )
    report.row_arguments(more["add-loso"], "one run per held-out speaker")
    args = parser.parse_args(argv)
    if args.command == "add":
        add_row(args.run_dirs, args.id, args.label, args.run_command, args.notes)
    elif args.command == "add-loso":
        add_loso_row(args.run_dirs, args.id, args.label, args.run_command, args.notes)
    report.write_page(RESULTS, PUBLISHED, render, summarize)
    return 0


if __name__ == "__main__":
    sys.exit(main())
