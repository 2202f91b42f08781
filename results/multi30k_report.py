"""Translation results page: seeds of one model -> a row of ``docs/results/multi30k.json``.

    python -m results.multi30k_report add RUN_DIR [RUN_DIR ...] --id ID \\
        --label TEXT --family rnn|transformer --command CMD [--notes TEXT]
    python -m results.multi30k_report render
    python -m results.multi30k_report decode RUN_DIR [--beams 1,4] \
        [--length-penalties 0.6,1.0]

``decode`` chooses the beam width and length penalty on the validation set, then decodes
the test set once with the choice and writes ``RUN_DIR/decoding.json``; ``add`` takes a
seed's test BLEU from that file when it exists (else from ``metrics.json``, decoded with the
run's ``model.decode_beam``).

Each RUN_DIR is one seed of an ``amkit train`` run on the ``translation`` dataset (Multi30k
English -> German). A row keeps each seed's test BLEU (detokenized sacreBLEU, and lowercased),
training time and parameter count; the page puts the published bands and the targets beside
them. The JSON twin is the source of truth; ``multi30k.md`` is generated from it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from amkit.io import atomic_write_json
from results import report
from results.report import finish_page, mean_std_cell

RESULTS = Path("docs/results/multi30k.json")
METRICS = ("bleu", "bleu_lc")
FAMILIES = {"rnn": "RNN + attention", "transformer": "Transformer"}
# the targets: each model trained on this 2-core CPU in at most 90 minutes
TARGETS = {"rnn": 35.0, "transformer": 37.0}
TARGET_MINUTES = 90

PUBLISHED: dict[str, dict[str, Any]] = {
    "rnn-band": {
        "family": "rnn",
        "label": "attention GRU encoder-decoders",
        "bleu": "33.7-35.5",
        "source": "the band of published results on Multi30k En-De test 2016 that amkit's "
        "translation models were set to reach (mostly tokenized, lowercased BLEU: compare with "
        "our `bleu_lc`)",
    },
    "transformer-band": {
        "family": "transformer",
        "label": "small Transformers",
        "bleu": "35-38",
        "source": "the band of published small-Transformer results on the same test set",
    },
}


DECODING = "decoding.json"


def _headline_row(results: dict[str, Any], family: str) -> tuple[str, dict[str, Any]] | None:
    """The family's row trained on the reference translations (not a distilled student) with
    the best validation BLEU: chosen on validation, as everything on the page."""
    rows = [(k, r) for k, r in results["rows"].items()
            if r["family"] == family and "train_targets" not in r["command"]]  # fmt: skip
    return max(rows, key=lambda kr: kr[1]["val_bleu"]["mean"]) if rows else None


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The page's headline figures (:func:`results.report.summary_fields`): test BLEU of the
    Transformer and of the RNN trained on the references (the best of each on validation),
    beside the published band of the same kind of model."""
    headlines = []
    for family in ("transformer", "rnn"):
        chosen = _headline_row(results, family)
        band = next((p for p in results["published"].values() if p["family"] == family), None)
        if chosen is None or band is None:
            continue
        key, row = chosen
        n = len(row["seeds"])
        runs = f"mean ± std of {n} seeds" if n > 1 else "1 seed"
        headlines.append(
            report.headline(
                f"bleu_{family}", row["bleu"]["mean"], band["bleu"],
                task=f"Multi30k English -> German, {row['label']}",
                metric="test BLEU (sacreBLEU, test 2016)",
                amkit=f"{mean_std_cell(row['bleu'], 2)} cased, {mean_std_cell(row['bleu_lc'], 2)} "
                f"lowercased ({runs}, {row['seconds'] / 60:.0f} min of training on 2 CPU cores)",
                reference=f"{band['bleu']} (the published band for {band['label']}"
                + ("; mostly tokenized, lowercased BLEU)" if family == "rnn" else ")"),
            )
        )  # fmt: skip
    return report.summary_fields(headlines)


def choose_decoding(
    run_dir: str | Path, beams: tuple[int, ...] = (1, 4),
    length_penalties: tuple[float, ...] = (0.6, 1.0), batch_size: int = 64,
) -> dict[str, Any]:  # fmt: skip
    """Decode the validation set with every beam width x length penalty (greedy once: the
    penalty does not change it), keep the setting with the best validation BLEU (the
    smaller beam on a tie), decode the test set once with it, and write
    ``RUN_DIR/decoding.json``: ``{"val": [...], "chosen", "test", "seconds"}``."""
    from amkit.experiments.run import load_run
    from amkit.models import RNNSeq2Seq, TransformerSeq2Seq

    started = time.perf_counter()
    _, model, data = load_run(run_dir)
    if not isinstance(model, RNNSeq2Seq | TransformerSeq2Seq) or model.tokenizer is None:
        raise ValueError(f"{run_dir} is not a translation run")
    settings = [(1, length_penalties[0])] if 1 in beams else []
    settings += [(b, lp) for b in beams if b > 1 for lp in length_penalties]
    if not settings:
        raise ValueError("--beams: give at least one beam width")

    def bleu(split: str, beam: int, penalty: float) -> dict[str, float]:
        model.config.decode_beam, model.config.length_penalty = beam, penalty
        return model.extra_metrics(data.split(split), batch_size)

    tried = [{"beam": b, "length_penalty": lp, **bleu("val", b, lp)} for b, lp in settings]
    best = max(tried, key=lambda t: (t["bleu"], -t["beam"]))
    chosen = {"beam": best["beam"], "length_penalty": best["length_penalty"]}
    result = {
        "val": tried,
        "chosen": chosen,
        "test": bleu("test", chosen["beam"], chosen["length_penalty"]),
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_json(Path(run_dir) / DECODING, result)
    return result


def _metrics_with_decoding(run_dir: str | Path) -> dict[str, Any]:
    """``metrics.json`` with the test BLEU of ``decoding.json`` when the run has one."""
    metrics = report.finished_metrics(run_dir)
    path = Path(run_dir) / DECODING
    if path.is_file():
        decoding = json.loads(path.read_text(encoding="utf-8"))
        metrics["test"] = {**metrics["test"], **decoding["test"]}
    return metrics


def _decoding_text(run_dir: str | Path | None) -> str:
    path = None if run_dir is None else Path(run_dir) / DECODING
    if path is None or not path.is_file():
        return "the run's own (greedy unless model.decode_beam)"
    chosen = json.loads(path.read_text(encoding="utf-8"))["chosen"]
    if chosen["beam"] == 1:
        return "greedy (chosen on val)"
    return f"beam {chosen['beam']}, length penalty {chosen['length_penalty']:g} (chosen on val)"


def _decodings(row: dict[str, Any]) -> str:
    """How the row's seeds decoded the test set (rows made before ``decode`` existed: the
    run's own decoding)."""
    return "; ".join(sorted(set(row.get("decoding") or [_decoding_text(None)])))


def add_row(
    run_dirs: list[str | Path],
    row_id: str,
    label: str,
    family: str,
    command: str,
    notes: str = "",
    path: Path = RESULTS,
    keep_seeds: bool = False,
) -> dict[str, Any]:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {list(FAMILIES)}, got {family!r}")
    decoding = [_decoding_text(d) for d in run_dirs]
    if keep_seeds:  # the kept seeds' decodings stay listed
        old = report.load_results(path, PUBLISHED)["rows"].get(row_id, {})
        decoding = [*old.get("decoding", []), *decoding]
    fields = {"label": label, "family": family, "command": command, "notes": notes,
              "decoding": decoding}  # fmt: skip
    return report.store_row(
        path, PUBLISHED, row_id, fields, run_dirs, METRICS, "bleu", _metrics_with_decoding,
        keep_seeds, summarize,
    )  # fmt: skip


def _verdict(row: dict[str, Any]) -> str:
    target = TARGETS[row["family"]]
    met = row["bleu"]["mean"] >= target and row["seconds"] <= 60 * TARGET_MINUTES
    return f">= {target:g} in <= {TARGET_MINUTES} min: **{'met' if met else 'not met'}**"


def render(results: dict[str, Any]) -> str:
    """The Markdown page for ``results`` (the JSON twin)."""
    lines = [
        *report.page_header("Translation: Multi30k English -> German", "multi30k"),
        "Test set `test_2016_flickr` (1,000 sentences), scored once with the checkpoint that "
        "had the best validation BLEU (greedy decoding during training). The test decoding "
        "(beam width, length penalty) is chosen on validation too, by `multi30k_report "
        "decode`; see each row's command. **BLEU**: sacreBLEU on detokenized, cased output "
        "(signature `nrefs:1|case:mixed|tok:13a|smooth:exp`). **BLEU lc**: the same, "
        "lowercased -- closest to the tokenized, lowercased BLEU most Multi30k papers report. "
        "Training time: the `train_seconds` of the run on this machine's 2 CPU cores.",
        "",
        *report.summary_lines(summarize(results)),
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
            f"{r['seconds']:.0f} s; test decoding: {_decodings(r)}."
            + (f" {r['notes']}" if r.get("notes") else "")
        )
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser, add, more = report.rows_cli(
        "multi30k_report", "multi30k",
        {"decode": "choose beam and length penalty on val, then decode test once"},
    )  # fmt: skip
    add.add_argument("--family", required=True, choices=list(FAMILIES))
    decode = more["decode"]
    decode.add_argument("run_dir")
    decode.add_argument("--beams", default="1,4")
    decode.add_argument("--length-penalties", default="0.6,1.0")
    args = parser.parse_args(argv)
    if args.command == "decode":
        result = choose_decoding(
            args.run_dir,
            tuple(int(b) for b in args.beams.split(",")),
            tuple(float(p) for p in args.length_penalties.split(",")),
        )
        print(json.dumps(result, indent=2))
        return 0
    if args.command == "add":
        add_row(args.run_dirs, args.id, args.label, args.family, args.run_command, args.notes,
                keep_seeds=args.keep_seeds, path=RESULTS)  # fmt: skip
    report.write_page(RESULTS, PUBLISHED, render, summarize)
    return 0


if __name__ == "__main__":
    sys.exit(main())
