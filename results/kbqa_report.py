"""Multi-hop question answering page: seeds of one model on one graph -> a row of
``docs/results/kbqa.json``.

    python -m results.kbqa_report add RUN_DIR [RUN_DIR ...] --id ID --label TEXT \\
        --model NAME --graph full|half|half+text --command CMD [--notes TEXT]
    python -m results.kbqa_report render

Each RUN_DIR is one seed of an ``amkit train kbqa/...`` run on the question set that
``amkit data kbqa-wordnet OUT --seed 0`` writes (MetaQA's protocol over WN18RR named by
WordNet 3.0; test questions in phrasings never used in training). A row keeps each seed's
test hits@1 overall and per hop count, and its validation hits@1 (model selection), with
mean and standard deviation. The published rows are MetaQA's (movies, Zhang et al. 2018):
the same protocol on another graph, shown for scale, not as a like-for-like comparison.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from results import report
from results.report import finish_page, mean_std_cell

RESULTS = Path("docs/results/kbqa.json")
HOPS = ("1hop", "2hop", "3hop")
METRICS = ("hits@1", *(f"hits@1_{h}" for h in HOPS))
GRAPHS = ("full", "half", "half+text")
# the rows whose numbers are the headline figures, the first one present: the soft vote of
# the shipped config's seeds (chosen over each single run on dev_unseen), else the shipped
# config on the complete graph (other graph_kvmem rows on it are ablations)
HEADLINE_ROWS = ("graph_kvmem-full-vote", "graph_kvmem-full")
TARGETS = {"1hop": 0.97, "2hop": 0.98, "3hop": 0.95}

PUBLISHED: dict[str, dict[str, Any]] = {
    "kv-memnn-metaqa": {"label": "KV-MemNN on MetaQA (movies)", "1hop": 0.962, "2hop": 0.827,
                        "3hop": 0.489, "source": "Zhang et al., AAAI 2018, Table 2"},
    "transfernet-metaqa": {"label": "TransferNet on MetaQA (movies)", "1hop": 0.975,
                           "2hop": 1.000, "3hop": 1.000, "source": "Shi et al., EMNLP 2021"},
}  # fmt: skip


def add_row(
    run_dirs: list[str | Path], row_id: str, label: str, model: str, graph: str,
    command: str, notes: str = "", path: Path = RESULTS,
) -> dict[str, Any]:  # fmt: skip
    """Add or replace the row ``row_id`` from one run directory per seed."""
    if graph not in GRAPHS:
        raise ValueError(f"graph must be one of {GRAPHS}, got {graph!r}")
    fields = {"label": label, "model": model, "graph": graph, "command": command,
              "notes": notes}  # fmt: skip
    return report.store_row(path, PUBLISHED, row_id, fields, run_dirs, METRICS, "hits@1",
                            summarize=summarize)  # fmt: skip


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Headline figures: the key-value memory's test hits@1 per hop count on the complete
    graph (the first of :data:`HEADLINE_ROWS` on the page), beside MetaQA's KV-MemNN."""
    key = next((k for k in HEADLINE_ROWS if k in results["rows"]), None)
    if key is None:
        return report.summary_fields([])
    row = results["rows"][key]
    if key.endswith("-vote"):
        how = "soft vote of the 3 seeds' runs, chosen on dev_unseen"
    elif len(row["seeds"]) > 1:
        how = f"mean ± std of {len(row['seeds'])} seeds"
    else:
        how = "1 seed"
    published = results["published"]["kv-memnn-metaqa"]
    headlines = [
        report.headline(
            f"hits1_{hop}", row[f"hits@1_{hop}"]["mean"], published[hop],
            task=f"{hop[0]}-hop questions over WordNet, unseen phrasings, {row['label']}",
            metric="test hits@1",
            amkit=f"{mean_std_cell(row[f'hits@1_{hop}'], 3)} ({how}; target >= "
            f"{TARGETS[hop]:.2f})",
            reference=f"{published[hop]:.3f} ({published['label']}, {published['source']}; "
            "another graph)",
        )
        for hop in HOPS
    ]  # fmt: skip
    return report.summary_fields(headlines)


def render(results: dict[str, Any]) -> str:
    lines = report.page_header("Multi-hop question answering over WordNet", "kbqa")
    lines += report.summary_lines(results)
    lines += [
        "Questions: `amkit data kbqa-wordnet OUT --seed 0` (8,000 training, 1,000 dev and "
        "1,000 test questions per hop count over the 90,434 WN18RR triples named by WordNet "
        "3.0; answer sets complete, at most 100 answers). Test questions use phrasings never "
        "used in training. Graph: `full`, `half` (a seeded half of the triples removed; the "
        "answers stay those of the complete graph) or `half+text` (the half graph plus the "
        "synsets' glosses as text memory). Metric: hits@1, the top answer is in the answer "
        "set. Model selection on dev hits@1 (the vote's: on dev_unseen, the dev questions in "
        "wrappers neither training nor test uses). Targets on the full graph: "
        + ", ".join(f"{h[0]}-hop >= {t:.2f}" for h, t in TARGETS.items())
        + ".",
        "",
        "| model | graph | 1-hop | 2-hop | 3-hop | all | seeds | train min / run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, row in results["rows"].items():
        cells = " | ".join(mean_std_cell(row[f"hits@1_{h}"], 3) for h in HOPS)
        seeds = "3 (one vote)" if key.endswith("-vote") else str(len(row["seeds"]))
        lines.append(
            f"| **amkit {row['label']}** | {row['graph']} | {cells} | "
            f"{mean_std_cell(row['hits@1'], 3)} | {seeds} | {row['seconds'] / 60:.0f} |"
        )
    for entry in results["published"].values():
        cells = " | ".join(f"{entry[h]:.3f}" for h in HOPS)
        lines.append(f"| {entry['label']} (published) | MetaQA's | {cells} |  |  |  |")
    lines += ["", "## Rows", ""]
    for key, row in results["rows"].items():
        lines.append(
            f"- **{row['label']}, {row['graph']}** (`{key}`): `{row['command']}`; seeds "
            f"{row['seeds']}; test hits@1 per seed {[s['hits@1'] for s in row['per_seed']]}; "
            f"dev hits@1 {mean_std_cell(row['val_hits@1'], 3)}; training "
            f"{row['seconds'] / 60:.0f} min per run (mean; {row['machine']}, shared with other "
            "jobs)." + (f" {row['notes']}" if row.get("notes") else "")
        )
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser, add, _ = report.rows_cli("kbqa_report", "kbqa")
    add.add_argument("--model", required=True)
    add.add_argument("--graph", required=True, choices=GRAPHS)
    args = parser.parse_args(argv)
    if args.command == "add":
        add_row(args.run_dirs, args.id, args.label, args.model, args.graph,
                args.run_command, args.notes)  # fmt: skip
    report.write_page(RESULTS, PUBLISHED, render, summarize)
    return 0


if __name__ == "__main__":
    sys.exit(main())
