"""IMDB results page: seeds of one variant -> a row of ``docs/results/imdb.json``; render ``.md``.

    python -m results.imdb_report add RUN_DIR [RUN_DIR ...] --id ID --label TEXT \\
        --encoder bilstm --knowledge none --train-size full --command CMD [--notes TEXT]
    python -m results.imdb_report render

Each RUN_DIR is one seed of the variant (an ``amkit train`` or ``amkit baseline`` run
directory); the row keeps every seed's test numbers and their mean and standard deviation.
The JSON twin is the source of truth; the Markdown tables are generated from it. Published
numbers sit in the same JSON under ``published`` with their sources.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from results import report
from results.report import finish_page, mean_std, mean_std_cell, seeds_row

RESULTS = Path("docs/results/imdb.json")
METRICS = ("accuracy", "precision", "recall", "f1")
TRAIN_SIZES = {"full": "22,500 reviews", "10%": "2,250 reviews"}
SPLITS = {  # what a seed changes in each grid
    "full": "Every cell trains on the same split (`data.split_seed=0`); seeds change "
    "initialisation and batch order.",
    "10%": "Each seed trains on its own seeded, stratified 10 % subset (the same subset in "
    "every cell of that seed), so the paired differences compare like with like.",
}
# the knowledge grid (issue 6): every encoder with each of these, on one fixed split
GRID_KNOWLEDGE = ("none", "lexicon", "glove", "wordnet", "knowledge_attention", "distillation")

PUBLISHED: dict[str, dict[str, Any]] = {
    "nbsvm-bi-paper": {
        "label": "NBSVM-bi (Wang & Manning 2012)",
        "accuracy": 0.9122,
        "source": "Wang & Manning 2012 (IMDB, trained on the full 25k training set)",
    },
    "nblr-bi-mesnil": {
        "label": "NB + logistic regression, bigrams (Mesnil et al.'s public NBSVM code)",
        "accuracy": 0.9155,
        "source": "README of github.com/mesnilgr/nbsvm (full 25k training set)",
    },
    "maas-2011": {
        "label": "Maas et al. 2011, full model + unlabelled + bag of words",
        "accuracy": 0.8889,
        "source": "Maas et al. 2011 (uses the 50k unlabelled reviews too)",
    },
    "seq-cnn-paper": {
        "label": "seq-CNN (Johnson & Zhang 2015), the model amkit's region CNN implements",
        "accuracy": 0.9196,
        "source": "Johnson & Zhang 2015 (SGD, square loss; supervised, no unlabelled reviews)",
    },
}
# the headline figures: key -> (amkit's row, the published entry beside it, the model, the
# reference in a few words)
SUMMARY = {
    "accuracy": ("region-cnn", "seq-cnn-paper", "region CNN (seq-CNN), from scratch",
                 "seq-CNN, Johnson & Zhang 2015"),
    "accuracy_nblr_bi": ("nblr-bi", "nblr-bi-mesnil", "NBSVM-bi (logistic regression)",
                         "Mesnil et al.'s NBSVM code, trained on all 25,000 reviews"),
}  # fmt: skip
# the 10 % target (issue 45): the mean over the three 10 % subsets of a model trained on their
# labels only (the other 90 % of the training reviews may be used without labels), above
# NBSVM-bi trained on the same subsets, the bar it must clear
TARGET_10PCT = 0.895
BAR_10PCT = "nblr-bi-10pct"


def ten_percent_headline(results: dict[str, Any]) -> dict[str, Any] | None:
    """The 10 % row best on validation (every 10 % row with three seeds, the bar aside),
    against the target and the NBSVM-bi bar; None before there is one."""
    bar = results["rows"].get(BAR_10PCT)
    candidates = {
        key: r for key, r in results["rows"].items()
        if r["train_size"] == "10%" and key != BAR_10PCT and len(r["seeds"]) == 3
    }  # fmt: skip
    if not bar or not candidates:
        return None
    key = max(candidates, key=lambda k: candidates[k]["val_accuracy"]["mean"])
    row, mean = candidates[key], candidates[key]["accuracy"]["mean"]
    verdict = "target met" if mean >= TARGET_10PCT else "target not met"
    over_bar = 100 * (mean - bar["accuracy"]["mean"])
    return report.headline(
        "accuracy_10pct", mean, TARGET_10PCT,
        task=f"IMDB sentiment with 10 % of the labels, {row['label']} (`{key}`, the 10 % row "
        "best on validation)",
        metric="test accuracy (25,000 reviews), mean over the three 10 % subsets",
        amkit=f"{mean_std_cell(row['accuracy'], 2, 100)} % ({verdict}; {over_bar:+.2f} points "
        "against NBSVM-bi on the same subsets)",
        reference=f"the target {100 * TARGET_10PCT:.1f} %; NBSVM-bi on the same subsets "
        f"{mean_std_cell(bar['accuracy'], 2, 100)} %",
    )  # fmt: skip


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The page's headline figures (:func:`results.report.summary_fields`): test accuracy of
    the strongest model trained from scratch and of the NBSVM-bi baseline, each beside the
    published number of the same model, and the 10 % target's row
    (:func:`ten_percent_headline`)."""
    headlines = []
    for key, (row_id, published_id, model, reference) in SUMMARY.items():
        row, paper = results["rows"].get(row_id), results["published"].get(published_id)
        if not row or not paper:
            continue
        n = len(row["seeds"])
        runs = f"mean ± std of {n} seeds" if n > 1 else "1 seed"
        headlines.append(
            report.headline(
                key, row["accuracy"]["mean"], paper["accuracy"],
                task=f"IMDB sentiment, {model}",
                metric="test accuracy (25,000 reviews)",
                amkit=f"{mean_std_cell(row['accuracy'], 2, 100)} % ({runs}; trained on "
                f"{TRAIN_SIZES[row['train_size']]})",
                reference=f"{100 * paper['accuracy']:.2f} % ({reference})",
            )
        )  # fmt: skip
    ten_percent = ten_percent_headline(results)
    if ten_percent is not None:
        headlines.append(ten_percent)
    return report.summary_fields(headlines)


def row_from_runs(run_dirs: list[str | Path]) -> dict[str, Any]:
    """Test metrics of each seed (one finished run directory each), mean and std."""
    return seeds_row(run_dirs, METRICS, "accuracy")


def load_results(path: Path = RESULTS) -> dict[str, Any]:
    return report.load_results(path, PUBLISHED)


def add_row(
    run_dirs: list[str | Path],
    row_id: str,
    label: str,
    encoder: str,
    knowledge: str,
    train_size: str,
    command: str,
    notes: str = "",
    path: Path = RESULTS,
    keep_seeds: bool = False,
    grid: bool = False,
) -> dict[str, Any]:
    """Store one row; ``grid`` rows are cells of the encoder x knowledge grid (``knowledge``
    one of ``GRID_KNOWLEDGE``), shown as a matrix with paired differences from ``none``."""
    if train_size not in TRAIN_SIZES:
        raise ValueError(f"train size must be one of {list(TRAIN_SIZES)}, got {train_size!r}")
    if grid and knowledge not in GRID_KNOWLEDGE:
        raise ValueError(
            f"a grid row's knowledge must be one of {GRID_KNOWLEDGE}, got {knowledge!r}"
        )
    fields = {"label": label, "encoder": encoder, "knowledge": knowledge,
              "train_size": train_size, "command": command, "notes": notes}  # fmt: skip
    if grid:
        fields["grid"] = True
    return report.store_row(path, PUBLISHED, row_id, fields, run_dirs, METRICS, "accuracy",
                            keep_seeds=keep_seeds, summarize=summarize)  # fmt: skip


def render(results: dict[str, Any]) -> str:
    """The Markdown page for ``results`` (the JSON twin)."""
    lines = [
        *report.page_header(
            "IMDB sentiment (Maas et al. 2011): knowledge fusion and attention classifiers", "imdb"
        ),
        "Test numbers on all 25,000 test reviews, mean ± standard deviation over seeds. Every "
        "model trains on 22,500 training reviews; the other 2,500 (stratified, seeded) are the "
        "validation set, which picks the epoch and every setting. Test is scored once per run "
        "and chooses nothing. Precision, recall and F1 are macro averages over the two "
        "classes. Machine: 2 CPU cores, no GPU.",
        "",
        *report.summary_lines(summarize(results)),
    ]
    rows = results["rows"]
    for size, description in TRAIN_SIZES.items():
        chosen = [
            (key, r) for key, r in rows.items() if r["train_size"] == size and not r.get("grid")
        ]
        if not chosen:
            continue
        lines += [
            f"## Training on {description} ({size})",
            "",
            "| model | encoder | knowledge | accuracy % | precision % | recall % | F1 % | "
            "val accuracy % | seeds | train time |",
            "|---|---|---|---:|---:|---:|---:|---:|---|---:|",
        ]
        for key, r in sorted(chosen, key=lambda kr: -kr[1]["accuracy"]["mean"]):
            lines.append(
                f"| {r['label']} (`{key}`) | {r['encoder']} | {r['knowledge']} | "
                + " | ".join(mean_std_cell(r[m], 2, 100) for m in (*METRICS, "val_accuracy"))
                + f" | {len(r['seeds'])} | {r['seconds'] / 60:.1f} min |"
            )
        lines.append("")
    for size, description in TRAIN_SIZES.items():
        lines += grid_tables(
            [r for r in rows.values() if r.get("grid") and r["train_size"] == size],
            description,
            SPLITS[size],
        )
    lines += ["## Published numbers", "", "| model | accuracy % | source |", "|---|---:|---|"]
    for p in results["published"].values():
        lines.append(f"| {p['label']} | {100 * p['accuracy']:.2f} | {p['source']} |")
    lines += ["", "## Commands", ""]
    for key, r in rows.items():
        lines.append(
            f"- `{key}`: `{r['command']}`; seeds {r['seeds']}; {r['n_test']} test reviews; "
            f"mean training time {r['seconds']:.0f} s."
            + (f" {r['notes']}" if r.get("notes") else "")
        )
    return finish_page(lines, results)


def grid_tables(rows: list[dict[str, Any]], description: str, split: str) -> list[str]:
    """The encoder x knowledge matrix of test accuracy (mean ± std, seeds) and, beside it, each
    source's difference from the same encoder without knowledge, paired by seed."""
    if not rows:
        return []
    cells = {(r["encoder"], r["knowledge"]): r for r in rows}
    encoders = list(dict.fromkeys(r["encoder"] for r in rows))

    def matrix(text) -> list[str]:  # text(encoder, cell) -> the cell's Markdown
        lines = [
            "| encoder | " + " | ".join(GRID_KNOWLEDGE) + " |",
            "|---|" + "---:|" * len(GRID_KNOWLEDGE),
        ]
        for encoder in encoders:
            row = []
            for knowledge in GRID_KNOWLEDGE:
                cell = cells.get((encoder, knowledge))
                row.append("" if cell is None else text(encoder, cell))
            lines.append(f"| {encoder} | " + " | ".join(row) + " |")
        return lines

    def difference(encoder: str, cell: dict[str, Any]) -> str:
        base = cells.get((encoder, "none"))
        return "" if base is None or cell is base else _paired(base, cell)

    return [
        f"## Knowledge grid: training on {description}",
        "",
        f"Test accuracy %, mean ± std over seeds (seed count in brackets). {split}",
        "",
        *matrix(
            lambda _, cell: f"{mean_std_cell(cell['accuracy'], 2, 100)} ({len(cell['seeds'])})"
        ),
        "",
        "Difference from the same encoder without knowledge, in points, paired by seed "
        "(mean ± std over the seeds both cells have; a difference inside its std is not "
        "established):",
        "",
        *matrix(difference),
        "",
        *verdict_table(cells, encoders),
    ]


VERDICTS = ("helped", "hurt", "not established", "one seed so far")


def verdict(differences: list[float]) -> str:
    """The page's rule on paired differences (points): ``helped`` / ``hurt`` when the mean is
    further from 0 than the std, over at least 2 seeds; else ``not established``."""
    if len(differences) < 2:
        return "one seed so far"
    summary = mean_std(differences)
    if abs(summary["mean"]) <= summary["std"]:
        return "not established"
    return "helped" if summary["mean"] > 0 else "hurt"


def verdict_table(cells: dict[tuple[str, str], dict[str, Any]], encoders: list[str]) -> list[str]:
    """Per knowledge source, the encoders it helped, hurt, or left undecided (with the
    difference), read from the paired differences by :func:`verdict`."""
    table = {}
    for knowledge in GRID_KNOWLEDGE[1:]:
        found = {v: [] for v in VERDICTS}
        for encoder in encoders:
            base, cell = cells.get((encoder, "none")), cells.get((encoder, knowledge))
            differences = [] if base is None or cell is None else _paired_differences(base, cell)
            if differences:
                found[verdict(differences)].append(f"{encoder} {_paired_text(differences)}")
        if any(found.values()):
            table[knowledge] = found
    if not table:
        return []
    return [
        "Which source helped which encoder, by that rule (helped or hurt: the mean difference "
        "is further from 0 than its std, over at least 2 seeds; a loose rule with 3 seeds: it "
        "marks what stands out of the seed-to-seed spread, it is not a significance test):",
        "",
        "| knowledge | " + " | ".join(VERDICTS) + " |",
        "|---|" + "---|" * len(VERDICTS),
        *(
            f"| {knowledge} | " + " | ".join(", ".join(found[v]) for v in VERDICTS) + " |"
            for knowledge, found in table.items()
        ),
        "",
    ]


def _paired_differences(base: dict[str, Any], cell: dict[str, Any]) -> list[float]:
    """Per-seed accuracy differences ``cell - base`` in points, over the seeds both have."""
    before = {s["seed"]: s["accuracy"] for s in base["per_seed"]}
    return [
        100 * (s["accuracy"] - before[s["seed"]]) for s in cell["per_seed"] if s["seed"] in before
    ]


def _paired(base: dict[str, Any], cell: dict[str, Any]) -> str:
    """``+0.31 ± 0.12 (3)``: per-seed accuracy differences in points, over shared seeds."""
    return _paired_text(_paired_differences(base, cell))


def _paired_text(differences: list[float]) -> str:
    """``+0.31 ± 0.12 (3)``: mean ± std and count of paired differences (points)."""
    if not differences:
        return "no shared seed"
    summary = mean_std(differences)
    spread = "" if summary["std"] is None else f" ± {summary['std']:.2f}"
    return f"{summary['mean']:+.2f}{spread} ({len(differences)})"


def main(argv: list[str] | None = None) -> int:
    parser, add, _ = report.rows_cli("imdb_report", "imdb")
    add.add_argument("--encoder", required=True)
    add.add_argument("--knowledge", required=True)
    add.add_argument("--train-size", required=True, choices=list(TRAIN_SIZES))
    add.add_argument("--grid", action="store_true", help="a cell of the encoder x knowledge grid")
    args = parser.parse_args(argv)
    if args.command == "add":
        add_row(
            args.run_dirs,
            args.id,
            args.label,
            args.encoder,
            args.knowledge,
            args.train_size,
            args.run_command,
            args.notes,
            keep_seeds=args.keep_seeds,
            grid=args.grid,
            path=RESULTS,
        )
    report.write_page(RESULTS, PUBLISHED, render, summarize)
    return 0


if __name__ == "__main__":
    sys.exit(main())
