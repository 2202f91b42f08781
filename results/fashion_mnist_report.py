"""Fashion-MNIST results page: classifier seeds and GAN seeds -> rows of
``docs/results/fashion_mnist.json``.

    python -m results.fashion_mnist_report add RUN_DIR [RUN_DIR ...] --id ID --label TEXT \\
        --command CMD [--notes TEXT]
    python -m results.fashion_mnist_report add-gan RUN_DIR [RUN_DIR ...] --id ID \\
        --label TEXT --command CMD [--notes TEXT]
    python -m results.fashion_mnist_report render

``add``: each RUN_DIR is one seed of ``amkit train fashion_mnist/...`` (or one ``amkit
baseline fashion_mnist/hog_svm`` run) on the standard split: 60,000 training images, 5,000
of them held out for validation (seeded), the 10,000 test images scored once. ``add-gan``:
each RUN_DIR is one seed of ``amkit train-gan fashion_mnist/sagan``; its row keeps the
Frechet distance that run measured on a trained amkit classifier's features (no Inception
weights can be fetched here), with or without the self-attention block (``gan.attention``).
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

RESULTS = Path("docs/results/fashion_mnist.json")
_README = "the Fashion-MNIST README's benchmark table (submitter-reported)"
PUBLISHED: dict[str, dict[str, Any]] = {
    "wrn-40-4": {"label": "WRN-40-4", "accuracy": 0.967, "source": _README},
    "resnet-18": {"label": "ResNet-18", "accuracy": 0.949, "source": _README},
    "hog-svm": {"label": "HOG + SVM", "accuracy": 0.926, "source": _README},
    "rbf-svc": {"label": "RBF SVC (pixels)", "accuracy": 0.897, "source": _README},
}
# the GAN rows whose Frechet distances are the headline figures, named before any run
SAGAN_ROW, NO_ATTENTION_ROW = "sagan", "sagan-no-attention"
# the attention CNN and the same CNN without its block: the pair the gain is stated for
ATTENTION_PAIR = ("cnn-sagan", "cnn")
# classical baselines: rows beside the models, never the headline
BASELINE_ROWS = ("hog-svm", "pixel-svm")


def add_row(
    run_dirs: list[str | Path], row_id: str, label: str, command: str, notes: str = "",
    path: Path = RESULTS, keep_seeds: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Add or replace the classifier row ``row_id`` from one run directory per seed
    (``keep_seeds``: the row's seeds from runs no longer on disk stay)."""
    fields = {"label": label, "command": command, "notes": notes}
    return report.store_row(path, PUBLISHED, row_id, fields, run_dirs, ("accuracy",),
                            "accuracy", keep_seeds=keep_seeds, summarize=summarize)  # fmt: skip


def _gan_run(run_dir: str | Path) -> dict[str, Any]:
    """One finished GAN run: its seed, attention flag, steps, minutes and Frechet distance."""
    run_dir = Path(run_dir)
    metrics = read_json(run_dir / "metrics.json", fix="rerun amkit train-gan")
    if "frechet_distance" not in metrics:
        raise ValueError(f"{run_dir}/metrics.json: no frechet_distance (the config's "
                         "score.classifier was empty); rerun with one")  # fmt: skip
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    return {
        "seed": config.get("seed"),
        "run_dir": str(run_dir),
        "attention": bool((config.get("gan") or {}).get("attention")),
        "classifier": (config.get("score") or {}).get("classifier"),
        "frechet_distance": round(float(metrics["frechet_distance"]), 3),
        "steps": metrics["steps"],
        "train_seconds": metrics["train_seconds"],
    }


def add_gan_row(
    run_dirs: list[str | Path], row_id: str, label: str, command: str, notes: str = "",
    path: Path = RESULTS,
) -> dict[str, Any]:  # fmt: skip
    """Add or replace the GAN row ``row_id``: one ``amkit train-gan`` run per seed, all with
    the same ``gan.attention``; the Frechet distance as mean ± std over the seeds. A
    ``{seeds}`` in ``command`` becomes the seeds, space-separated."""
    per_seed = [_gan_run(d) for d in run_dirs]
    if len({s["attention"] for s in per_seed}) > 1:
        raise ValueError(f"{row_id}: the runs mix gan.attention true and false")
    results = report.load_results(path, PUBLISHED)
    command = command.replace("{seeds}", " ".join(str(s["seed"]) for s in per_seed))
    row = {
        "label": label, "command": command, "notes": notes,
        "attention": per_seed[0]["attention"],
        "frechet_distance": report.mean_std([s["frechet_distance"] for s in per_seed]),
        "seeds": [s["seed"] for s in per_seed],
        "steps": report.mean_std([s["steps"] for s in per_seed]),
        "seconds": round(sum(s["train_seconds"] for s in per_seed) / len(per_seed), 1),
        "per_seed": per_seed, "machine": f"{platform.machine()}, 2 cores",
    }  # fmt: skip
    results.setdefault("gan", {})[row_id] = row
    atomic_write_json(path, report.with_summary(results, summarize))
    return row


def attention_gain(results: dict[str, Any]) -> dict[str, Any] | None:
    """Test accuracy of the attention CNN minus the same CNN's, paired by seed (the seeds
    both rows have): ``{"seeds", "per_seed", "gain"}`` or ``None`` without a common seed."""
    rows = results["rows"]
    if not all(key in rows for key in ATTENTION_PAIR):
        return None
    by_seed = [{s["seed"]: s["accuracy"] for s in rows[k]["per_seed"]} for k in ATTENTION_PAIR]
    seeds = sorted(set(by_seed[0]) & set(by_seed[1]))
    if not seeds:
        return None
    differences = [round(by_seed[0][s] - by_seed[1][s], 4) for s in seeds]
    return {"seeds": seeds, "per_seed": differences, "gain": report.mean_std(differences)}


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Headline figures: the test ``accuracy`` of the amkit model (not a classical baseline)
    best on validation, and the Frechet distances ``fd_sagan`` / ``fd_no_attention`` of the
    two fixed GAN rows."""
    headlines = []
    rows = {k: row for k, row in results["rows"].items() if k not in BASELINE_ROWS}
    if rows:
        key = max(rows, key=lambda k: rows[k]["val_accuracy"]["mean"])
        row = rows[key]
        headlines.append(
            report.headline(
                "accuracy", row["accuracy"]["mean"], PUBLISHED["resnet-18"]["accuracy"],
                task=f"Fashion-MNIST, {row['label']} (best of the rows on validation)",
                metric="test accuracy (10,000 images)",
                amkit=f"{mean_std_cell(row['accuracy'], 4)} (mean of {len(row['seeds'])} "
                "seed(s))",
                reference="0.949 (ResNet-18, the dataset's README)",
            )
        )  # fmt: skip
    gans = results.get("gan") or {}
    for key, row_id in (("fd_sagan", SAGAN_ROW), ("fd_no_attention", NO_ATTENTION_ROW)):
        row = gans.get(row_id)
        if row is None:
            continue
        headlines.append(
            report.headline(
                key, row["frechet_distance"]["mean"], None,
                task=f"Fashion-MNIST generation, {row['label']}",
                metric="Frechet distance on an amkit classifier's features (lower is better)",
                amkit=f"{mean_std_cell(row['frechet_distance'], 2)} (mean of "
                f"{len(row['seeds'])} seed(s))",
                reference="no comparable published figure (papers use Inception features)",
            )
        )  # fmt: skip
    return report.summary_fields(headlines)


def _gan_lines(results: dict[str, Any]) -> list[str]:
    rows = results.get("gan") or {}
    if not rows:
        return ["Not measured yet: the SAGAN's Frechet distance with and without attention.", ""]
    lines = [
        "## Generation (SAGAN)",
        "",
        "Frechet distance between 5,000 generated images and the test images, on the "
        "penultimate features of a trained amkit Fashion-MNIST classifier (named per row); "
        "lower is better. Not comparable with published FIDs, which use Inception features.",
        "",
        "| model | self-attention | Frechet distance | steps | seeds | train min / run |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows.values():
        lines.append(
            f"| **{row['label']}** | {'yes' if row['attention'] else 'no'} | "
            f"{mean_std_cell(row['frechet_distance'], 2)} | {row['steps']['mean']:.0f} | "
            f"{len(row['seeds'])} | {row['seconds'] / 60:.1f} |"
        )
    lines.append("")
    for key, row in rows.items():
        per_seed = [s["frechet_distance"] for s in row["per_seed"]]
        lines.append(
            f"- **{row['label']}** (`{key}`): `{row['command']}`; seeds {row['seeds']}; "
            f"Frechet distance per seed {per_seed}; classifier "
            f"`{row['per_seed'][0]['classifier']}`."
            + (f" {row['notes']}" if row.get("notes") else "")
        )
    return [*lines, ""]


def render(results: dict[str, Any]) -> str:
    lines = report.page_header("Fashion-MNIST: attention in image classification", "fashion_mnist")
    lines += report.summary_lines(results)
    lines += [
        "Protocol: the standard 60,000 / 10,000 split; 5,000 training images held out for "
        "validation (seeded, the same for every row); the model kept is the one best on "
        "validation; the test set is scored once. Budget: one run in at most 60 minutes on 2 "
        "CPU cores. Cells: test accuracy, mean ± std over seeds.",
        "",
        "| model | test accuracy | validation | seeds | train min / run |",
        "|---|---|---|---|---|",
    ]
    for row in results["rows"].values():
        lines.append(
            f"| **{row['label']}** | {mean_std_cell(row['accuracy'], 4)} | "
            f"{mean_std_cell(row['val_accuracy'], 4)} | {len(row['seeds'])} | "
            f"{row['seconds'] / 60:.1f} |"
        )
    for row in results["published"].values():
        lines.append(f"| {row['label']} (published) | {row['accuracy']:.3f} | | | |")
    lines.append("")
    if all(key in BASELINE_ROWS for key in results["rows"]):
        lines += ["Not measured yet: the attention models (`tools/queues/fashion_mnist.tsv`).", ""]
    gain = attention_gain(results)
    if gain:
        lines += [
            f"Self-attention block (`{ATTENTION_PAIR[0]}` minus `{ATTENTION_PAIR[1]}`, paired "
            f"by seed, seeds {gain['seeds']}): {mean_std_cell(gain['gain'], 4)} test accuracy "
            f"(per seed {gain['per_seed']}).",
            "",
        ]
    lines += [*_gan_lines(results), "## Rows", ""]
    for key, row in results["rows"].items():
        lines.append(
            f"- **{row['label']}** (`{key}`): `{row['command']}`; seeds {row['seeds']}; test "
            f"accuracy per seed {[s['accuracy'] for s in row['per_seed']]}; training "
            f"{row['seconds'] / 60:.1f} min per run (mean; {row['machine']}, shared with "
            "other jobs)." + (f" {row['notes']}" if row.get("notes") else "")
        )
    lines.append("")
    for row in results["published"].values():
        lines.append(f"- {row['label']}: {row['accuracy']:.3f}, {row['source']}.")
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser, _, more = report.rows_cli(
        "fashion_mnist_report", "fashion_mnist", {"add-gan": "add or replace a GAN row"}
    )
    report.row_arguments(more["add-gan"], "one amkit train-gan run per seed")
    args = parser.parse_args(argv)
    if args.command == "add":
        add_row(args.run_dirs, args.id, args.label, args.run_command, args.notes,
                keep_seeds=args.keep_seeds)  # fmt: skip
    elif args.command == "add-gan":
        add_gan_row(args.run_dirs, args.id, args.label, args.run_command, args.notes)
    report.write_page(RESULTS, PUBLISHED, render, summarize)
    return 0


if __name__ == "__main__":
    sys.exit(main())
