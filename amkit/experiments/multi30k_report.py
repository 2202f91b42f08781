"""Translation results page: seeds of one model -> a row of ``docs/results/multi30k.json``.

    python -m amkit.experiments.multi30k_report add RUN_DIR [RUN_DIR ...] --id ID \\
        --label TEXT --family rnn|transformer --command CMD [--notes TEXT]
    python -m amkit.experiments.multi30k_report render

Each RUN_DIR is one seed of an ``amkit train`` run on the ``translation`` dataset (Multi30k
English -> German). A row keeps each seed's test BLEU (detokenized sacreBLEU, and lowercased),
training time and parameter count; the page puts the published bands and issue 5's targets
beside them. The JSON twin is the source of truth; ``multi30k.md`` is generated from it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from amkit.experiments import report
from amkit.experiments.report import finish_page, mean_std_cell

RESULTS = Path("docs/results/multi30k.json")
METRICS = ("bleu", "bleu_lc")
FAMILIES = {"rnn": "RNN + attention", "transformer": "Transformer"}
# issue 5: each model trained on this 2-core CPU in at most 90 minutes
TARGETS = {"rnn": 35.0, "transformer": 37.0}
TARGET_MINUTES = 90

PUBLISHED: dict[str, dict[str, Any]] = {
    "rnn-band": {
        "family": "rnn",
        "label": "attention GRU encoder-decoders",
        "bleu": "33.7-35.5",
        "source": "the published band for Multi30k En-De test 2016 quoted in issue 5 (mostly "
        "tokenized, lowercased BLEU: compare with our `bleu_lc`)",
    },
    "transformer-band": {
        "family": "transformer",
        "label": "small Transformers",
        "bleu": "35-38",
        "source": "the published band quoted in issue 5",
    },
}


def add_row(
    run_dirs: list[str | Path],
    row_id: str,
    label: str,
    family: str,
    command: str,
    notes: str = "",
    path: Path = RESULTS,
) -> dict[str, Any]:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {list(FAMILIES)}, got {family!r}")
    fields = {"label": label, "family": family, "command": command, "notes": notes}
    return report.store_row(path, PUBLISHED, row_id, fields, run_dirs, METRICS, "bleu")


def _verdict(row: dict[str, Any]) -> str:
    target = TARGETS[row["family"]]
    met = row["bleu"]["mean"] >= target and row["seconds"] <= 60 * TARGET_MINUTES
    return f">= {target:g} in <= {TARGET_MINUTES} min: **{'met' if met else 'not met'}**"


def render(results: dict[str, Any]) -> str:
    """The Markdown page for ``results`` (the JSON twin)."""
    lines = [
        *report.page_header("Translation: Multi30k English -> German", "multi30k"),
        "Test set `test_2016_flickr` (1,000 sentences), scored once with the checkpoint that "
        "had the best validation BLEU (greedy decoding during training; the test decoding is "
        "the run's `model.decode_beam`). **BLEU**: sacreBLEU on detokenized, cased output "
        "(signature `nrefs:1|case:mixed|tok:13a|smooth:exp`). **BLEU lc**: the same, "
        "lowercased -- closest to the tokenized, lowercased BLEU most Multi30k papers report. "
        "Training time: the `train_seconds` of the run on this machine's 2 CPU cores.",
        "",
        "| model | BLEU | BLEU lc | seeds | parameters | train time | target |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    rows = sorted(results["rows"].items(), key=lambda kr: -kr[1]["bleu"]["mean"])
    for key, r in rows:
        params = r["per_seed"][0].get("parameters")
        lines.append(
            f"| {r['label']} (`{key}`) | {mean_std_cell(r['bleu'], 2)} | "
            f"{mean_std_cell(r['bleu_lc'], 2)} | "
            f"{len(r['seeds'])} | {f'{params / 1e6:.1f} M' if params else ''} | "
            f"{r['seconds'] / 60:.1f} min | {_verdict(r)} |"
        )
    for p in results["published"].values():
        lines.append(f"| *published:* {p['label']} | | {p['bleu']} | | | | |")
    lines += ["", *[f"*published:* {p['label']}: {p['source']}." for p in
                    results["published"].values()], "", "## Commands", ""]  # fmt: skip
    for key, r in results["rows"].items():
        lines.append(
            f"- `{key}`: `{r['command']}`; seeds {r['seeds']}; mean training time "
            f"{r['seconds']:.0f} s." + (f" {r['notes']}" if r.get("notes") else "")
        )
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser, add = report.rows_cli("multi30k_report", "multi30k")
    add.add_argument("--family", required=True, choices=list(FAMILIES))
    args = parser.parse_args(argv)
    if args.command == "add":
        add_row(args.run_dirs, args.id, args.label, args.family, args.run_command, args.notes)
    report.write_page(RESULTS, PUBLISHED, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
