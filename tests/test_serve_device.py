"""``amkit serve`` answers on the device each run's model is on.

This machine has no GPU, and on the CPU a missing ``.to(device)`` changes nothing. So the
loaded model is moved to PyTorch's ``meta`` device (a real second device: its tensors have
shapes and no values) and every module gets a forward pre-hook that checks each tensor it
is given is on the model's device; the first module reached with all of them there stops
the call (:class:`ReachedTheModel`: ``meta`` computes no values to explain). A view or
"Try it" path that builds its inputs on the CPU and forgets to move them fails with
:class:`WrongDevice` naming the module, as it would on a GPU. A control test removes one
move and checks that the guard catches it.

Also: which device a run answers on (its own ``train.device``, ``--device``, the CPU where
the machine lacks it), and a run trained on a GPU loads and answers here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

pytest.importorskip("fastapi")

from amkit.cli import main  # noqa: E402
from amkit.explain.memory import explain_story  # noqa: E402
from amkit.explain.recall import explain_recall_example  # noqa: E402
from amkit.serve.views import ModelCache, explain_example, run_device, try_input  # noqa: E402


class ReachedTheModel(Exception):
    """A module was called with every tensor on the model's device."""


class WrongDevice(AssertionError):
    """A module was called with a tensor on another device than the model's."""


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)


def guard_device(model: torch.nn.Module) -> None:
    """Move ``model`` to ``meta`` and check every module call's tensors (see the docstring)."""
    model.to("meta")

    def check(module, args, kwargs):
        wrong = [f"{t.device} {tuple(t.shape)}" for t in _tensors((args, kwargs))
                 if t.device.type != "meta"]  # fmt: skip
        if wrong:
            raise WrongDevice(f"{type(module).__name__} got {wrong}, its model is on meta")
        raise ReachedTheModel

    for module in model.modules():
        module.register_forward_pre_hook(check, with_kwargs=True)


def _model(loaded) -> torch.nn.Module:
    if isinstance(loaded, tuple) and len(loaded) == 4:  # text: (model, vocab, labels, data)
        return loaded[0]
    if isinstance(loaded, tuple):  # run: (config, model, data)
        return loaded[1]
    return loaded.model  # amkit.load


def _first_row(run_dir: Path, split: str = "test") -> dict:
    for line in (run_dir / "predictions.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["split"] == split:
            return row
    raise AssertionError(f"no {split} row in {run_dir}")


# (runs fixture, run, kind the path loads, the call)
PATHS = {
    "text example": ("basic", "text", "text", lambda c, d: explain_example(c, d, _first_row(d))),
    "text try": ("basic", "text", "text", lambda c, d: try_input(c, d, {"text": "a superb film"})),
    "story example": ("basic", "story", "run",
                      lambda c, d: explain_example(c, d, {"split": "test", "id": 0})),
    "story try": ("basic", "story", "run", lambda c, d: try_input(
        c, d, {"story": "Mary went to the kitchen.", "question": "Where is Mary?"})),
    "recall example": ("basic", "recall", "run",
                       lambda c, d: explain_example(c, d, {"split": "test", "id": 0})),
    "forecast example": ("families", "patchtst", "run",
                         lambda c, d: explain_example(c, d, {"split": "test", "id": 0})),
    "memory forecaster example": ("families", "memory", "run",
                                  lambda c, d: explain_example(c, d, {"split": "test", "id": 0})),
    "graph example": ("families", "kvmem", "run",
                      lambda c, d: explain_example(c, d, _first_row(d))),
    "graph try": ("families", "kvmem", "load",
                  lambda c, d: try_input(c, d, {"question": "Where is t located in?"})),
    "image example": ("families", "cnn", "run",
                      lambda c, d: explain_example(c, d, {"split": "test", "id": 0})),
    "speech example": ("families", "gru", "run",
                       lambda c, d: explain_example(c, d, {"split": "test", "id": 0})),
    "translation example": ("families", "seq2seq", "load",
                            lambda c, d: explain_example(c, d, _first_row(d))),
    "translation try": ("families", "seq2seq", "load",
                        lambda c, d: try_input(c, d, {"text": "apple bird cat"})),
    "ranking example": ("families", "sasrec", "run",
                        lambda c, d: explain_example(c, d, _first_row(d))),
    "ranking try": ("families", "sasrec", "run", lambda c, d: try_input(
        c, d, {"user": _first_row(d)["input"].removeprefix("user ")})),
    # the explainers amkit demo calls on the models it trains (on a GPU when there is one)
    "demo recall explainer": ("basic", "recall", "run", lambda c, d: explain_recall_example(
        c.get(d, "run")[1], c.get(d, "run")[2], 0, Path("not-written"))),
    "demo story explainer": ("basic", "story", "run", lambda c, d: explain_story(
        c.get(d, "run")[1], c.get(d, "run")[2], 1, 0, Path("not-written.png"))),
}  # fmt: skip


@pytest.fixture
def runs(request):
    """Both sets of tiny runs, by their fixture's short name."""
    return {
        "basic": request.getfixturevalue("serve_runs"),
        "families": request.getfixturevalue("serve_family_runs"),
    }


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_view_and_try_it_hand_the_model_its_inputs_on_its_device(path, runs):
    which, name, kind, call = PATHS[path]
    if name not in runs[which]:
        pytest.skip(f"no {name} run here (its optional packages are missing)")
    run_dir = runs[which][name]
    cache = ModelCache()
    guard_device(_model(cache.get(run_dir, kind)))  # the cached model: the one the path uses
    with pytest.raises(ReachedTheModel):
        call(cache, run_dir)


def test_the_guard_catches_an_input_left_on_the_cpu(serve_runs, monkeypatch):
    import amkit.explain.text

    # token_views asks model_device() where to build its ids: pretend it forgot to ask
    monkeypatch.setattr(amkit.explain.text, "model_device", lambda model: torch.device("cpu"))
    cache = ModelCache()
    guard_device(_model(cache.get(serve_runs["text"], "text")))
    with pytest.raises(WrongDevice, match="got \\['cpu"):
        try_input(cache, serve_runs["text"], {"text": "a superb film"})


def _as_if_trained_on_a_gpu(run_dir: Path, copy: Path) -> Path:
    """A copy of a run whose files say it trained on ``cuda:0`` (a safetensors file records
    no device: its weights are the same bytes either way)."""
    import shutil

    shutil.copytree(run_dir, copy)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["train"]["device"] = "cuda:0"
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics.update(device="cuda:0", device_name="NVIDIA H100 80GB HBM3")
    (copy / "metrics.json").write_text(json.dumps(metrics))
    return copy


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_run_trained_on_a_gpu_answers_on_this_cpu(serve_runs, tmp_path, capsys):
    gpu_run = _as_if_trained_on_a_gpu(serve_runs["text"], tmp_path / "gpu-run")
    assert run_device(gpu_run) == "cpu"  # its own cuda:0 is not here: the CPU, with a warning
    assert run_device(gpu_run, "cpu") == "cpu"
    cache = ModelCache()
    model = _model(cache.get(gpu_run, "text"))
    assert all(p.device.type == "cpu" for p in model.parameters())
    fresh = try_input(cache, gpu_run, {"text": "a superb film"})
    same = try_input(ModelCache(), serve_runs["text"], {"text": "a superb film"})
    assert fresh["probabilities"] == same["probabilities"]
    assert main(["evaluate", str(gpu_run)]) == 0  # the default device: auto, here the CPU
    assert json.loads(capsys.readouterr().out)["n"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_serve_refuses_a_device_this_machine_lacks_before_it_starts(capsys):
    assert main(["serve", "--device", "cuda:0", "no-such-folder"]) == 2
    assert "--device: cuda:0, but this machine has no CUDA GPU" in capsys.readouterr().err
