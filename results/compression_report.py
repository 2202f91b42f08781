"""Compression results page: a trained run and its compressed variants, measured in one process.

    python -m results.compression_report measure RUN_DIR --id ID --label TEXT \\
        [--prune 0.3,0.5,0.7] [--out-root runs/compressed] [--sentences 128] \\
        [--extra "NAME=RUN_DIR" ...]
    python -m results.compression_report render

``measure`` makes (or reuses) the int8-quantized and magnitude-pruned run directories of
``RUN_DIR`` with :func:`amkit.compress.run.compress_run`, loads each variant as ``amkit
evaluate`` would, and records its weight size, sparsity, test quality (BLEU for translation,
else accuracy) and CPU latency per sentence at batch 1 and 32 (greedy or the run's beam, the
first ``--sentences`` test sources). ``--extra NAME=RUN_DIR`` adds other trained runs as
variants, measured in the same process: e.g. a student trained on the run's own
translations (sequence-level distillation, ``data.train_targets``) and the same student
trained on the references. The block goes into ``docs/results/compression.json``;
``compression.md`` is generated from it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from amkit.io import atomic_write_json
from results import report
from results.report import finish_page, finished_metrics

RESULTS = Path("docs/results/compression.json")
BATCHES = (1, 32)


def _variants(prune: tuple[float, ...]) -> list[tuple[str, str | None, float | None]]:
    """``(name, method, amount)``: the original, int8 quantization, each pruning amount."""
    pruned = [(f"pruned {round(a * 100)} %", "prune", a) for a in prune]
    return [("original", None, None), ("int8 dynamic quantization", "quantize", None), *pruned]


def latency_ms(model, texts: list[str], batch_size: int) -> float:
    """Milliseconds per sentence to translate ``texts`` in batches of ``batch_size``."""
    started = time.perf_counter()
    with torch.inference_mode():
        model.translate(texts, batch_size=batch_size)
    return round(1000 * (time.perf_counter() - started) / len(texts), 2)


def measure(
    run_dir: str | Path,
    out_root: str | Path = "runs/compressed",
    prune: tuple[float, ...] = (0.3, 0.5, 0.7),
    sentences: int = 128,
    extra: tuple[tuple[str, str | Path], ...] = (),
) -> dict[str, Any]:
    """Every variant of ``run_dir``, then each ``(name, run_dir)`` of ``extra``: quality,
    weight size, sparsity, latency at batch 1 and 32."""
    from amkit.compress.run import compress_run

    run_dir, out_root = Path(run_dir), Path(out_root)
    rows = []
    for name, method, amount in _variants(prune):
        directory = run_dir
        if method is not None:
            suffix = method if amount is None else f"{method}{round(amount * 100)}"
            directory = out_root / f"{run_dir.name}-{suffix}"
            if not (directory / "metrics.json").is_file():
                compress_run(run_dir, method, 0.5 if amount is None else amount, directory)
        rows.append(_measure_run(name, directory, sentences, quantized=method == "quantize"))
    rows += [_measure_run(name, Path(directory), sentences) for name, directory in extra]
    return {
        "source_run": str(run_dir),
        "sentences": sentences,
        "threads": torch.get_num_threads(),
        "variants": rows,
    }


def _measure_run(name: str, directory: Path, sentences: int, quantized: bool = False):
    """One variant's row: its test BLEU (from its ``metrics.json``), weights, sparsity and
    latency, the model loaded as ``amkit evaluate`` would."""
    from amkit.compress import sparsity, weight_bytes
    from amkit.experiments.run import load_run

    test = finished_metrics(directory)["test"]
    _, model, data = load_run(directory)
    if not hasattr(model, "translate"):
        raise ValueError(f"{directory}: latency is measured for translation runs only")
    texts = data.info.sources["test"][:sentences]
    return {
        "variant": name,
        "run_dir": str(directory),
        "bleu": round(test["bleu"], 2),
        "bleu_lc": round(test["bleu_lc"], 2),
        "weight_mb": round(weight_bytes(model) / 2**20, 2),
        # quantized layers are not torch Linear/RNN modules: no sparsity to read
        "sparsity": None if quantized else round(sparsity(model), 3),
        **{f"latency_ms_batch{b}": latency_ms(model, texts, b) for b in BATCHES},
    }


def add_block(block: dict[str, Any], block_id: str, label: str, command: str,
              path: Path = RESULTS) -> dict[str, Any]:  # fmt: skip
    results = report.load_results(path, {})
    results["rows"][block_id] = {"label": label, "command": command, **block}
    atomic_write_json(path, report.with_summary(results, summarize))
    return results["rows"][block_id]


# the headline figures: key -> the block whose int8-quantized variant is shown
SUMMARY = {"bleu_int8_transformer": "transformer", "bleu_int8_rnn": "gru-bahdanau"}
QUANTIZED = "int8 dynamic quantization"


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The page's headline figures (:func:`results.report.summary_fields`): test BLEU, weight
    size and latency of int8 quantization beside the same run uncompressed (a peer measured
    in the same process; nothing published to compare with)."""
    headlines = []
    for key, block_id in SUMMARY.items():
        block = results["rows"].get(block_id)
        variants = {v["variant"]: v for v in block["variants"]} if block else {}
        if "original" not in variants or QUANTIZED not in variants:
            continue
        original, quantized = variants["original"], variants[QUANTIZED]

        def cell(v: dict[str, Any]) -> str:
            return (f"{v['bleu']:.2f}, weights {v['weight_mb']:.1f} MB, "
                    f"{v['latency_ms_batch1']:.0f} ms per sentence")  # fmt: skip

        headlines.append(
            report.headline(
                key, quantized["bleu"], None,
                task=f"Multi30k, {block['label']}: int8 dynamic quantization",
                metric=f"test BLEU (greedy), weight size, latency at batch 1 "
                f"({block['threads']} thread)",
                amkit=cell(quantized),
                reference=f"{cell(original)} (the same run, not compressed)",
            )
        )  # fmt: skip
    return report.summary_fields(headlines)


def render(results: dict[str, Any]) -> str:
    """The Markdown page for ``results`` (the JSON twin)."""
    lines = [
        *report.page_header("Compression: quantization and pruning, measured", "compression"),
        "Each block: one trained run and its compressed variants (`amkit compress`), every "
        "number measured in one process on this machine (2 CPU cores). BLEU: test set, "
        "detokenized sacreBLEU (`bleu_lc`: lowercased), decoded as the run's config says "
        "(`model.decode_beam`; greedy for the shipped Multi30k configs, so the originals "
        "score below their beam-4 rows on multi30k.md). Weight size: the parameters in memory "
        "(int8 for quantized layers); pruned weights are stored dense, so pruning alone does "
        "not shrink the file. Latency: milliseconds per sentence to translate the first test "
        "sources at batch 1 and 32.",
        "",
        *report.summary_lines(summarize(results)),
    ]
    for key, block in results["rows"].items():
        original = block["variants"][0]
        lines += [
            f"## {block['label']} (`{key}`)",
            "",
            "| variant | BLEU | BLEU lc | weights | sparsity | ms/sentence, batch 1 | "
            "ms/sentence, batch 32 |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for v in block["variants"]:
            delta = v["bleu"] - original["bleu"]
            change = "" if v is original else f" ({delta:+.2f})"
            lines.append(
                f"| {v['variant']} | {v['bleu']:.2f}{change} | {v['bleu_lc']:.2f} | "
                f"{v['weight_mb']:.1f} MB | "
                f"{'-' if v['sparsity'] is None else format(v['sparsity'], '.0%')} | "
                f"{v['latency_ms_batch1']:.1f} | {v['latency_ms_batch32']:.1f} |"
            )
        lines += [
            "",
            f"Source run `{block['source_run']}`; {block['sentences']} sentences timed, "
            f"{block['threads']} threads. Command: `{block['command']}`.",
            "",
        ]
    return finish_page(lines, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m results.compression_report")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("measure", help="compress a run, measure every variant, add its block")
    run.add_argument("run_dir")
    run.add_argument("--id", required=True)
    run.add_argument("--label", required=True)
    run.add_argument("--prune", default="0.3,0.5,0.7", help="pruning amounts, comma-separated")
    run.add_argument("--out-root", default="runs/compressed")
    run.add_argument("--sentences", type=int, default=128)
    run.add_argument("--extra", action="append", default=[], metavar="NAME=RUN_DIR",
                     help="another trained run to measure as a variant (repeatable)")  # fmt: skip
    sub.add_parser("render", help="write compression.md from compression.json")
    args = parser.parse_args(argv)
    if args.command == "measure":
        amounts = tuple(float(a) for a in args.prune.split(",") if a)
        extra = []
        for item in args.extra:
            name, sep, directory = item.partition("=")
            if not sep or not name or not directory:
                parser.error(f"--extra: expected NAME=RUN_DIR, got {item!r}")
            extra.append((name, directory))
        block = measure(args.run_dir, args.out_root, amounts, args.sentences, tuple(extra))
        given = sys.argv[1:] if argv is None else argv
        command = " ".join(["python -m results.compression_report", *given])
        add_block(block, args.id, args.label, command)
    report.write_page(RESULTS, {}, render, summarize)
    return 0


if __name__ == "__main__":
    sys.exit(main())
