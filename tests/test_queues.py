"""The committed job queues (``tools/queues/*.tsv``) name configs and overrides that amkit
accepts: a typo in a queue line would otherwise surface only when a worker reaches it,
hours into a session. Each ``amkit train`` / ``amkit sweep`` line is parsed by amkit's own
command-line parser and its config validated with every override (per variant and seed for
a sweep), without building data or models."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from amkit.cli import build_parser
from amkit.configs import find_config
from amkit.experiments.run import load_config
from amkit.experiments.sweep import parse_seeds, parse_variants

ROOT = Path(__file__).parents[1]
QUEUES = sorted((ROOT / "tools" / "queues").glob("*.tsv"))


def queue_lines() -> list[tuple[str, str, str]]:
    """``(where, out, command)`` per line: ``where`` is ``file:line``."""
    lines = []
    for queue in QUEUES:
        for number, line in enumerate(queue.read_text().splitlines(), 1):
            if line.strip() and not line.startswith("#"):
                out, _, command = line.partition("\t")
                lines.append((f"{queue.name}:{number}", out, command))
    return lines


def amkit_arguments(command: str) -> list[str]:
    """The arguments after ``.venv/bin/amkit`` (leading ``VAR=value`` settings skipped)."""
    words = shlex.split(command)
    while words and "=" in words[0] and not words[0].startswith("-"):
        words = words[1:]
    assert words and words[0].endswith("amkit"), f"not an amkit command: {command!r}"
    return words[1:]


def _config(name: str) -> Path:
    """A queue's config: a path from the repository root or a shipped config's name
    (``countries/graph_kvmem``), as ``amkit train`` finds it."""
    return ROOT / name if (ROOT / name).is_file() else find_config(name)


def check_line(where: str, out: str, command: str) -> None:
    """Raise (naming ``where``) if the line's command or config is not what amkit accepts."""
    args = build_parser().parse_args(amkit_arguments(command))
    if args.command == "sweep" and out != args.out:  # a one-cell sweep may lock its cell
        cells = [
            f"{args.out}/{name}/seed{seed}"
            for name, _ in parse_variants(args.variant)
            for seed in parse_seeds(args.seeds)
        ]
        assert cells == [out], f"{where}: OUT column {out!r} is not --out or the sweep's one cell"
    else:
        assert getattr(args, "out", out) == out, f"{where}: OUT {out!r} != --out {args.out!r}"
    if args.command not in ("train", "sweep"):
        config = getattr(args, "config", None)
        assert config is None or _config(config).is_file(), f"{where}: no file {config}"
        return
    if args.command == "train":
        load_config(_config(args.config), args.set)
        return
    for seed in parse_seeds(args.seeds):
        common = [o.replace("{seed}", str(seed)) for o in args.set]
        for _, settings in parse_variants(args.variant) or [("default", [])]:
            extra = [f"{key}={value}".replace("{seed}", str(seed)) for key, value in settings]
            load_config(_config(args.config), [*common, *extra, f"seed={seed}"])


@pytest.mark.parametrize(
    ("where", "out", "command"), [pytest.param(*line, id=line[0]) for line in queue_lines()]
)
def test_queue_line_is_a_valid_amkit_command(where: str, out: str, command: str) -> None:
    check_line(where, out, command)


def test_a_typo_in_a_queue_line_is_caught() -> None:
    """The check fails on a misspelt override or a wrong OUT column (it can fail)."""
    good = ".venv/bin/amkit train configs/demo/recall.yaml --set train.epochs=1 --out runs/x"
    check_line("q.tsv:1", "runs/x", good)
    with pytest.raises(ValueError, match="trian"):
        check_line("q.tsv:1", "runs/x", good.replace("train.epochs", "trian.epochs"))
    with pytest.raises(AssertionError, match="q.tsv:1"):
        check_line("q.tsv:1", "runs/y", good)
    sweep = (
        ".venv/bin/amkit sweep configs/demo/recall.yaml --out runs/s --seeds 0,1 "
        "--variant a: --variant b:model.scroe=dot"
    )
    with pytest.raises(ValueError, match="scroe"):
        check_line("q.tsv:2", "runs/s", sweep)
    one_cell = ".venv/bin/amkit sweep configs/demo/recall.yaml --out runs/s --seeds 1 --variant a:"
    check_line("q.tsv:3", "runs/s/a/seed1", one_cell)  # a one-cell sweep may lock its cell
    for wrong in ("runs/s/a/seed0", "runs/s/b/seed1"):
        with pytest.raises(AssertionError, match="q.tsv:3"):
            check_line("q.tsv:3", wrong, one_cell)
    with pytest.raises(AssertionError, match="q.tsv:4"):  # two cells: OUT must be --out
        check_line("q.tsv:4", "runs/s/a/seed1", one_cell.replace("--seeds 1", "--seeds 1,2"))
