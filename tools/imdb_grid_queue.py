#!/usr/bin/env python3
"""Write the queue of the full-data IMDB grid cells that ``docs/results/imdb.json`` lacks.

usage: tools/imdb_grid_queue.py [--encoders cnn,region,...] [--per-encoder] [--results PATH]
       OUT.tsv

``runs/`` is not kept between sessions, and an ``amkit sweep`` reruns every cell whose run
directory is gone, so a queue written for one session can retrain cells the page already
has. This reads the page's grid rows (``grid-<encoder>-<knowledge>``, field ``seeds``) and
writes one sweep line per missing cell (``--seeds S --variant K``), in the commands
``tools/imdb_grid_rows.sh`` records. Each line's OUT is the cell's run directory, so
``run_queue.sh`` locks and skips per cell and any number of workers share the queue (a line
per encoder, ``--per-encoder``, holds the encoder's one lock: its cells run one at a time).
Cells finished on disk but not yet on the page count as missing: run ``imdb_grid_rows.sh``
first; a cell half-trained on disk resumes.
The NBSVM teacher line comes first (the distillation cells read it; the queue skips it when
it exists). Standard library only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
KNOWLEDGE = {  # grid column -> the sweep's --variant
    "none": "none:",
    "lexicon": "lexicon:model.knowledge=lexicon",
    "glove": "glove:model.knowledge=glove",
    "wordnet": "wordnet:model.knowledge=wordnet",
    "knowledge_attention": "knowledge_attention:model.knowledge=knowledge_attention",
    "distillation": "distillation:data.teacher=runs/imdb/nbsvm/teacher-seed0",
}
CONFIG = {
    "chunked": "configs/imdb/chunked.yaml",
    "cnn": "configs/imdb/cnn.yaml",
    "region": "configs/imdb/region_cnn.yaml",
    "transformer": "configs/imdb/transformer.yaml",
    "bigru": "configs/imdb/bigru.yaml",
}
GRID_SET = "data.split_seed=0 data.bucket_pool=20 model.attention_dim=64"
REGION_SET = "data.split_seed=0"  # the region CNN's config buckets and max-pools already
TEACHER = (
    "runs/imdb/nbsvm/teacher-seed0\t.venv/bin/amkit baseline configs/imdb/nbsvm.yaml "
    "--out runs/imdb/nbsvm/teacher-seed0 --set seed=0 nbsvm.train_folds=5"
)
REQUIRED = ("chunked", "cnn", "region", "transformer")  # issue 6: >= 4 encoders x 6 variants


def missing_cells(rows: dict, encoder: str) -> dict[str, tuple[int, ...]]:
    """Knowledge variant -> the seeds (of 0-2) its full-data cell lacks. The region CNN's
    ``none`` cell is the region-cnn row (its own runs and command), never queued here."""
    missing = {}
    for knowledge in KNOWLEDGE:
        if encoder == "region" and knowledge == "none":
            continue
        have = set(rows.get(f"grid-{encoder}-{knowledge}", {}).get("seeds", []))
        lacking = tuple(seed for seed in SEEDS if seed not in have)
        if lacking:
            missing[knowledge] = lacking
    return missing


def sweep_line(encoder: str, seeds: tuple[int, ...], knowledge: list[str]) -> str:
    """One ``OUT<TAB>command`` queue line: the encoder's sweep over these seeds and variants."""
    out = f"runs/imdb/grid/{encoder}"
    common = REGION_SET if encoder == "region" else GRID_SET
    variants = " ".join(f"--variant {KNOWLEDGE[k]}" for k in knowledge)
    return (
        f"{out}\t.venv/bin/amkit sweep {CONFIG[encoder]} --out {out} "
        f"--seeds {','.join(map(str, seeds))} --threads 1 --workers 1 --set {common} {variants}"
    )


def cell_line(encoder: str, knowledge: str, seed: int) -> str:
    """One cell's queue line: its run directory as OUT, the one-cell sweep as the command."""
    command = sweep_line(encoder, (seed,), [knowledge]).partition("\t")[2]
    return f"runs/imdb/grid/{encoder}/{knowledge}/seed{seed}\t{command}"


def queue_lines(rows: dict, encoders: list[str], per_encoder: bool = False) -> list[str]:
    """The teacher, then the missing cells: one line each, seed 0 first, then by encoder
    and variant; with ``per_encoder``, per encoder one line per set of missing seeds."""
    if not per_encoder:
        cells = [
            (seed, encoder, knowledge)
            for encoder in encoders
            for knowledge, seeds in missing_cells(rows, encoder).items()
            for seed in seeds
        ]
        lines = [cell_line(e, k, s) for s, e, k in sorted(cells, key=lambda c: c[0])]
        return [TEACHER, *lines] if lines else []
    lines = []
    for encoder in encoders:
        by_seeds: dict[tuple[int, ...], list[str]] = {}
        for knowledge, seeds in missing_cells(rows, encoder).items():
            by_seeds.setdefault(seeds, []).append(knowledge)
        for seeds in sorted(by_seeds, key=lambda s: (s[0], -len(s))):
            lines.append(sweep_line(encoder, seeds, by_seeds[seeds]))
    return [TEACHER, *lines] if lines else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the queue file to write (TSV)")
    parser.add_argument(
        "--encoders",
        default=",".join(REQUIRED),
        help=f"comma-separated, of {sorted(CONFIG)} (default: {','.join(REQUIRED)})",
    )
    parser.add_argument(
        "--per-encoder",
        action="store_true",
        help="one sweep line per encoder and seed set (one lock per encoder), not one per cell",
    )
    parser.add_argument("--results", type=Path, default=ROOT / "docs/results/imdb.json")
    args = parser.parse_args(argv)
    encoders = [e for e in args.encoders.split(",") if e]
    unknown = [e for e in encoders if e not in CONFIG]
    if unknown:
        parser.error(f"--encoders: unknown {unknown}; known: {sorted(CONFIG)}")
    rows = json.loads(args.results.read_text())["rows"]
    lines = queue_lines(rows, encoders, args.per_encoder)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines))
    tmp.replace(args.out)  # atomic: a worker never reads half a queue
    cells = sum(len(s) for e in encoders for s in missing_cells(rows, e).values())
    print(f"{args.out}: {len(lines)} lines, {cells} cells missing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
