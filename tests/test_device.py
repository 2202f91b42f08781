"""Devices: train.device / --device resolved against the machine, clear one-line errors for
a device it lacks, the device recorded in metrics.json. (The GPU paths run where a GPU is:
benchmarks/; here PyTorch sees none, or the tests that need one skip.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import amkit
from amkit.cli import main
from amkit.errors import UserError
from amkit.train.device import describe_device, model_device, resolve_device, to_device
from amkit.train.precision import resolve_precision

NO_GPU = not torch.cuda.is_available()
TINY = ["data.n_train=64", "data.n_val=16", "data.n_test=16", "model.d_model=8",
        "train.epochs=1", "train.progress=false"]  # fmt: skip


def test_auto_and_cpu_resolve_on_this_machine():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(" CPU ") == torch.device("cpu")
    with pytest.raises(UserError, match="--device: 'gpu' is not a device; use auto, cpu"):
        resolve_device("gpu", "--device")
    with pytest.raises(UserError, match="is not a device"):
        resolve_device("cuda:x")


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("name", ["cuda", "cuda:3"])
def test_a_gpu_this_machine_lacks_names_the_option_and_what_it_has(name):
    with pytest.raises(UserError, match=f"train.device: {name}, but this machine has no CUDA"):
        resolve_device(name)


def test_batches_move_and_the_model_device_is_found():
    model = torch.nn.Linear(2, 2)
    assert model_device(model) == torch.device("cpu")
    assert model_device(torch.nn.Module()) == torch.device("cpu")
    batch = {"x": torch.ones(2), "names": ["a", "b"]}
    assert to_device(batch, torch.device("cpu"))["names"] == ["a", "b"]
    assert describe_device(torch.device("cpu"))["device"] == "cpu"


def test_fp16_is_for_gpus_and_auto_keeps_the_cpu_rule():
    with pytest.raises(UserError, match="train.precision: fp16 runs on CUDA GPUs only"):
        resolve_precision("fp16", torch.device("cpu"))
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    assert resolve_precision("auto") in ("fp32", "bf16")


def test_a_bad_device_in_a_config_is_a_config_error():
    from amkit.experiments.experiment import load_config

    with pytest.raises(ValueError, match="train.device: 'gpu0' is not a device"):
        load_config("demo/recall", ["train.device=gpu0"])


def test_metrics_record_the_device_and_the_precision(tmp_path):
    result = amkit.run(
        "demo/recall", run_dir=tmp_path / "run", overrides=[*TINY, "train.device=cpu"]
    )
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["device"] == "cpu" and metrics["device_name"] and metrics["precision"] == "fp32"


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
def test_train_on_a_missing_gpu_fails_in_one_line_and_leaves_no_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "demo/recall", "--out", str(out), "--device", "cuda:1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("amkit: error: train.device: cuda:1, but this machine has no CUDA GPU")
    assert not out.exists()  # nothing half-written


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
def test_inference_commands_check_the_device_too(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "demo/recall", "--out", str(out), "--device", "cpu", "--set", *TINY]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), "--device", "cuda"]) == 2
    assert "--device: cuda, but this machine has no CUDA GPU" in capsys.readouterr().err
    assert main(["evaluate", str(out), "--device", "cpu", "--split", "val"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 16
    comp = ["compress", str(out), "--method", "quantize", "--out", str(tmp_path / "q")]
    assert main([*comp, "--device", "cuda"]) == 2
    assert "int8 dynamic quantization runs on the CPU only" in capsys.readouterr().err
    assert main(comp) == 0  # auto: on the CPU


def test_every_command_that_runs_a_model_takes_a_device(capsys):
    from amkit.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    runs_a_model = set(commands) - {"ls", "data", "bench"}
    for name in runs_a_model:
        assert "--device" in commands[name].format_help(), name
    bench = commands["bench"]._subparsers._group_actions[0].choices
    assert all("--device" in case.format_help() for case in bench.values())


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["ensemble", "A", "B", "--out", "E"], "amkit ensemble"),
        (["baseline", "imdb/nbsvm", "--out", "B"], "amkit baseline"),
        (["bench", "attention"], "amkit bench"),
    ],
)
def test_cpu_jobs_say_so_when_given_a_gpu(argv, what, capsys):
    assert main([*argv, "--device", "cuda:0"]) == 2
    err = capsys.readouterr().err
    assert f"--device cuda:0: {what}" in err and "runs on the CPU only" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize(
    "argv",
    [["explain", "RUN", "--text", "x"], ["recommend", "RUN", "--user", "1"],
     ["ask", "RUN", "x"], ["forecast", "RUN", "--input", "x.csv", "--out", "y.csv"]],
)  # fmt: skip
def test_one_request_commands_check_the_device_before_loading(argv, capsys):
    assert main([*argv, "--device", "cuda:0"]) == 2  # the run is never opened
    err = capsys.readouterr().err
    assert "--device: cuda:0, but this machine has" in err


def test_explain_runs_on_the_device_given(tmp_path):
    run = Path(__file__).parent / "fixtures" / "run_format" / "run"
    for device in ("cpu", "auto"):
        out = tmp_path / device
        argv = ["explain", str(run), "--text", "a good film", "--out", str(out)]
        assert main([*argv, "--device", device]) == 0
        assert (out / "explain.html").is_file()
