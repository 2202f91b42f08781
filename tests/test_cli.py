"""The ``amkit`` command end to end, and bad usage exiting 2 with a short message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from amkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "data.n_train=200",
    "data.n_val=50",
    "data.n_test=60",
    "model.d_model=16",
    "train.epochs=2",
    "train.progress=false",
]


def test_train_evaluate_resume_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        ["train", str(ROOT / "configs/demo/recall.yaml"), "--out", str(out), "--set", *TINY]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "epoch 2  train_loss" in printed and "test accuracy" in printed
    assert main(["evaluate", str(out), "--split", "val"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["split"] == "val" and evaluated["n"] == 50
    # a finished run resumed with more epochs continues from epoch 3
    assert main(["train", "--resume", str(out), "--set", "train.epochs=3"]) == 0
    assert "epoch 3  train_loss" in capsys.readouterr().out
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3


def test_train_repeats_keeps_the_best(tmp_path, capsys):
    out = tmp_path / "rep"
    argv = [
        "train",
        str(ROOT / "configs/demo/recall.yaml"),
        "--out",
        str(out),
        "--repeats",
        "2",
        "--set",
        *TINY[:-2],
        "train.epochs=1",
        "train.progress=false",
    ]
    assert main(argv) == 0
    assert "best of 2 on validation" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["selected_repeat"] in (0, 1)
    assert main(["train", "--repeats", "2"]) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "missing.yaml"], "config file not found: missing.yaml"),
        (["train"], "train needs a CONFIG file"),
        (["evaluate", "/nonexistent/run"], "is not a run directory"),
        (
            ["train", str(ROOT / "configs/demo/recall.yaml"), "--set", "train.lr=oops"],
            "train.lr: expected a number, got 'oops'",
        ),
        (
            ["train", str(ROOT / "configs/demo/recall.yaml"), "--set", "model.name=nope"],
            "unknown model 'nope'",
        ),
    ],
)
def test_bad_usage_exits_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_console_script_version_and_ls():
    exe = Path(sys.executable).parent / "amkit"
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("amkit ")
    listing = subprocess.run([str(exe), "ls"], capture_output=True, text=True, check=True)
    models_line = next(line for line in listing.stdout.splitlines() if line.startswith("models:"))
    listed = models_line.removeprefix("models: ").split(", ")
    assert listed == sorted(listed)
    assert {
        "bpr",
        "complex",
        "dlinear",
        "dnc",
        "graph_kvmem",
        "gru_attention",
        "image_cnn",
        "memn2n",
        "patchtst",
    } <= set(listed)
    assert "scores: additive, cosine, dot, general, scaled_dot" in listing.stdout
    bad = subprocess.run([str(exe), "frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_help_and_version_answer_without_loading_torch():
    """Building the command line must stay light: ``amkit --help`` or a typo answers at
    once instead of after the seconds torch, sklearn and the models take to import."""
    code = (
        "import sys\n"
        "from amkit.cli import build_parser\n"
        "build_parser()\n"
        "heavy = sorted(m for m in ('torch', 'sklearn', 'numpy', 'safetensors.torch')"
        " if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"building the parser imported {done.stdout.strip()}"


def test_a_config_after_set_is_not_taken_for_an_override(capsys):
    config = str(ROOT / "configs/demo/recall.yaml")
    argv = ["train", "--set", "train.epochs=7", "model.d_model=8", config, "--print-config"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "epochs: 7" in printed and "d_model: 8" in printed
    assert "batch_size: 32" in printed  # defaults are filled in


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--set", "a=1", "cfg.yaml"], ["train", "cfg.yaml", "--set", "a=1"]),
        (
            ["train", "cfg.yaml", "--set", "a=1", "b=2"],
            ["train", "cfg.yaml", "--set", "a=1", "b=2"],
        ),
        (
            ["evaluate", "--set", "a=1", "RUN", "--split", "val"],
            ["evaluate", "RUN", "--set", "a=1", "--split", "val"],
        ),
        (["sweep", "--seeds", "0,1", "cfg.yaml"], ["sweep", "--seeds", "0,1", "cfg.yaml"]),
    ],
)
def test_untangle_overrides(argv, expected):
    from amkit.cli import untangle_overrides

    assert untangle_overrides(argv) == expected


def test_print_config_reports_every_problem(capsys):
    config = str(ROOT / "configs/demo/recall.yaml")
    assert (
        main(["train", config, "--set", "train.epochz=2", "model.d_model=x", "--print-config"]) == 2
    )
    err = capsys.readouterr().err
    assert "did you mean 'epochs'" in err and "model.d_model: expected an integer" in err


def test_an_internal_error_shows_its_traceback_and_asks_for_a_report(monkeypatch, capsys):
    def broken(args):
        raise IndexError("index 3 is out of bounds")  # as a bug deep inside amkit would

    monkeypatch.setattr("amkit.commands.cmd_ls", broken)
    assert main(["ls"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "IndexError: index 3 is out of bounds" in err
    assert "internal error" in err and "please report it" in err


def test_a_user_error_from_deep_inside_is_one_line(monkeypatch, capsys):
    from amkit.errors import UserError

    def bad_input(args):
        raise UserError("data.txt:3: expected 3 tab-separated columns, got 2")

    monkeypatch.setattr("amkit.commands.cmd_ls", bad_input)
    assert main(["ls"]) == 2
    err = capsys.readouterr().err
    assert err == "amkit: error: data.txt:3: expected 3 tab-separated columns, got 2\n"


def test_every_command_has_help_examples_that_parse(capsys):
    """Each command's ``--help`` ends with examples, and every example is a valid command
    line (parsed, not run)."""
    import shlex

    from amkit.cli import EXAMPLES, build_parser, untangle_overrides

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == set(EXAMPLES)
    for name, command in commands.items():
        assert command.format_help().rstrip().endswith(EXAMPLES[name].split("\n")[-1])
        for line in EXAMPLES[name].split("\n"):
            argv = shlex.split(line)
            assert argv[0] == "amkit"
            args = parser.parse_args(untangle_overrides(argv[1:]))
            assert args.command == name, line
