"""Trainer and run directory: files, save -> load, exact resume, determinism, starting from
another run's weights (``train.init_from``)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import amkit
from amkit.config import ConfigError
from amkit.demo import DEMO_CONFIG
from amkit.experiments.run import load_config
from amkit.train.checkpoint import load_model, save_model

TINY = [
    "data.n_keys=8",
    "data.n_pairs=3",
    "data.n_train=256",
    "data.n_val=64",
    "data.n_test=96",
    "model.d_model=16",
    "train.batch_size=32",
    "train.progress=false",
]


def _history_without_time(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    timing = {"seconds", "train_examples_per_second"}
    return [{k: v for k, v in json.loads(line).items() if k not in timing} for line in lines]


def test_run_writes_a_complete_run_directory(tmp_path):
    result = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "run", overrides=[*TINY, "train.epochs=2"])
    run_dir = result.run_dir
    for name in (
        "config.yaml",
        "metrics.jsonl",
        "metrics.json",
        "model.safetensors",
        "last.safetensors",
        "last.json",
        "train.log",
    ):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["n"] == 96  # every test example scored, no partial batch dropped
    assert metrics["epochs"] == 2 and metrics["seed"] == 0
    assert len(_history_without_time(run_dir)) == 2
    # the saved config is fully resolved and reproduces the run's config
    assert load_config(run_dir / "config.yaml").to_dict() == result.config
    assert "epoch 2" in (run_dir / "train.log").read_text()
    # the best model's probabilities of every val / test example, in order, for ensembles
    probabilities = load_file(str(run_dir / "probabilities.safetensors"))
    assert probabilities["test"].shape == (96, result.data.info.n_classes)
    torch.testing.assert_close(probabilities["test"].sum(1), torch.ones(96))
    predicted = probabilities["test"].argmax(1)
    accuracy = (predicted == result.data.split("test").tensors["targets"]).float().mean()
    assert accuracy.item() == pytest.approx(metrics["test"]["accuracy"])
    assert (run_dir / "plots" / "confusion_test.png").is_file()
    assert (
        probabilities["test_targets"].tolist()
        == result.data.split("test").tensors["targets"].tolist()
    )


def test_evaluate_run_reloads_the_best_model(tmp_path, capsys):
    result = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "run", overrides=[*TINY, "train.epochs=2"])
    reloaded = amkit.evaluate_run(result.run_dir, split="test")
    assert reloaded == pytest.approx(result.metrics["test"])
    # an older run without probabilities gets them back, identical, from its best model
    from amkit.cli import main

    saved = load_file(str(result.run_dir / "probabilities.safetensors"))
    (result.run_dir / "probabilities.safetensors").unlink()
    assert main(["evaluate", str(result.run_dir), "--save-probabilities"]) == 0
    assert "probabilities.safetensors" in capsys.readouterr().out
    rewritten = load_file(str(result.run_dir / "probabilities.safetensors"))
    assert rewritten.keys() == saved.keys()
    for key, value in saved.items():
        torch.testing.assert_close(rewritten[key], value)


def test_save_load_gives_identical_outputs(tmp_path):
    result = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "run", overrides=[*TINY, "train.epochs=1"])
    _, model, data = amkit.load_run(result.run_dir)
    batch = data.split("test")[:16]
    result.model.eval()
    with torch.no_grad():
        expected = result.model(**batch, need_weights=True)
        got = model(**batch, need_weights=True)
    assert torch.equal(expected.logits, got.logits)
    assert torch.equal(expected.query, got.query)


@pytest.mark.parametrize("averaging", [[], ["train.ema_decay=0.9"]])
def test_resume_gives_the_same_metrics_as_an_uninterrupted_run(tmp_path, averaging):
    # dropout, a step schedule, Adam state (and the weights' moving average) all have to
    # survive the interruption
    overrides = [
        *TINY,
        "train.epochs=4",
        "train.scheduler=step",
        "train.step_size=1",
        "model.dropout=0.3",
        *averaging,
    ]
    amkit.run(DEMO_CONFIG, run_dir=tmp_path / "full", overrides=overrides)

    class Interrupt(Exception):
        pass

    def stop_after_two(epoch, record):
        if epoch == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        amkit.run(
            DEMO_CONFIG,
            run_dir=tmp_path / "cut",
            overrides=overrides,
            on_epoch_end=[stop_after_two],
        )
    assert len(_history_without_time(tmp_path / "cut")) == 2
    resumed = amkit.run(run_dir=tmp_path / "cut", resume=True)
    assert _history_without_time(tmp_path / "cut") == _history_without_time(tmp_path / "full")
    full_metrics = json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert resumed.metrics["test"] == full_metrics["test"]


def test_ema_validates_and_saves_the_moving_average_of_each_steps_weights(tmp_path):
    """``train.ema_decay``: model.safetensors holds avg <- d * avg + (1 - d) * weights, taken
    after every optimizer step (first step: the weights), not the last weights."""
    decay, reference = 0.9, {}

    def after_step(optimizer, args, kwargs):  # the formula written out, per parameter
        for group in optimizer.param_groups:
            for param in group["params"]:
                old = reference.get(id(param))
                new = param.detach().clone()
                reference[id(param)] = new if old is None else decay * old + (1 - decay) * new

    from torch.optim.optimizer import register_optimizer_step_post_hook

    handle = register_optimizer_step_post_hook(after_step)
    try:
        overrides = [*TINY, "train.epochs=1", f"train.ema_decay={decay}"]
        result = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "run", overrides=overrides)
    finally:
        handle.remove()
    saved = load_file(str(result.run_dir / "model.safetensors"))
    last = load_file(str(result.run_dir / "last.safetensors"))
    for name, param in result.model.named_parameters():
        torch.testing.assert_close(saved[name], reference[id(param)], atol=1e-6, rtol=1e-5)
        assert not torch.allclose(saved[name], last[f"model.{name}"])  # not the last weights
    # the reported validation accuracy is the averaged model's
    reloaded = amkit.evaluate_run(result.run_dir, split="val")
    assert reloaded["accuracy"] == pytest.approx(result.metrics["best"]["val_accuracy"])


def _run_recording_training_dtypes(run_dir, overrides):
    """``amkit.run`` on the demo config: its result and the dtypes of the logits the model
    produced in training mode (every module's forward is watched)."""
    from torch.nn.modules.module import register_module_forward_hook

    seen = set()

    def record(module, args, output):
        if module.training and hasattr(output, "logits"):
            seen.add(output.logits.dtype)

    handle = register_module_forward_hook(record)
    try:
        result = amkit.run(DEMO_CONFIG, run_dir=run_dir, overrides=overrides)
    finally:
        handle.remove()
    return result, seen


def test_bf16_precision_trains_under_autocast_and_keeps_float32_weights(tmp_path):
    """``train.precision: bf16``: the training forward computes in bfloat16, the weights,
    saved model and validation stay float32, and training follows the float32 run."""
    runs = {}
    for precision in ("fp32", "bf16"):
        overrides = [*TINY, "train.epochs=2", f"train.precision={precision}"]
        runs[precision], dtypes = _run_recording_training_dtypes(tmp_path / precision, overrides)
        assert dtypes == {torch.bfloat16 if precision == "bf16" else torch.float32}
    result = runs["bf16"]
    assert all(p.dtype == torch.float32 for p in result.model.parameters())
    saved = load_file(str(result.run_dir / "model.safetensors"))
    assert all(t.dtype == torch.float32 for t in saved.values())
    losses = {k: r.history[-1]["train_loss"] for k, r in runs.items()}
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.05), losses
    reloaded = amkit.evaluate_run(result.run_dir, split="val")  # validation ran in float32
    assert reloaded["accuracy"] == pytest.approx(result.metrics["best"]["val_accuracy"])


def test_ema_refuses_models_that_change_between_epochs(tmp_path):
    from amkit.train.trainer import TrainConfig, Trainer

    class Phased(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(2))

        def epoch_end(self, epoch, record):
            return None

    with pytest.raises(ValueError, match="train.ema_decay: Phased changes between epochs"):
        Trainer(Phased(), None, TrainConfig(ema_decay=0.99), tmp_path)


def test_same_seed_same_metrics_other_seed_differs(tmp_path):
    a = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "a", overrides=[*TINY, "train.epochs=1"])
    b = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "b", overrides=[*TINY, "train.epochs=1"])
    c = amkit.run(
        DEMO_CONFIG, run_dir=tmp_path / "c", overrides=[*TINY, "train.epochs=1", "seed=1"]
    )
    assert _history_without_time(a.run_dir) == _history_without_time(b.run_dir)
    assert _history_without_time(a.run_dir) != _history_without_time(c.run_dir)


def test_existing_run_directory_is_not_overwritten(tmp_path):
    amkit.run(DEMO_CONFIG, run_dir=tmp_path / "run", overrides=[*TINY, "train.epochs=1"])
    with pytest.raises(FileExistsError, match="--resume"):
        amkit.run(DEMO_CONFIG, run_dir=tmp_path / "run", overrides=[*TINY, "train.epochs=1"])


def test_early_stopping_stops(tmp_path):
    # lr so small nothing improves after the first epoch's noise: stops after patience
    result = amkit.run(
        DEMO_CONFIG,
        run_dir=tmp_path / "run",
        overrides=[
            *TINY,
            "train.epochs=30",
            "train.early_stopping=2",
            "train.lr=1e-9",
            "train.monitor=val_loss",
            "train.mode=min",
        ],
    )
    assert len(result.history) < 30


def test_stop_at_stops_once_the_monitored_value_is_reached(tmp_path):
    overrides = [*TINY, "train.epochs=6", "train.monitor=val_loss", "train.mode=min"]
    full = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "full", overrides=overrides)
    losses = [r["val_loss"] for r in full.history]
    target = losses[1]  # the second epoch's loss: reached at epoch 2 (or sooner)
    reached = next(i for i, v in enumerate(losses) if v <= target) + 1
    stopped = amkit.run(
        DEMO_CONFIG, run_dir=tmp_path / "stopped", overrides=[*overrides, f"train.stop_at={target}"]
    )
    assert len(stopped.history) == reached < 6
    never = amkit.run(
        DEMO_CONFIG, run_dir=tmp_path / "never", overrides=[*overrides, "train.stop_at=-1.0"]
    )
    assert len(never.history) == 6


def test_eval_every_validates_every_nth_and_the_last_epoch(tmp_path):
    result = amkit.run(
        DEMO_CONFIG,
        run_dir=tmp_path / "run",
        overrides=[*TINY, "train.epochs=5", "train.eval_every=2"],
    )
    validated = [r["epoch"] for r in result.history if "val_accuracy" in r]
    assert validated == [2, 4, 5]
    assert all("train_loss" in r for r in result.history)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["best"]["epoch"] in validated


def test_time_limit_stops_before_an_epoch_that_would_overrun_it(tmp_path, monkeypatch):
    from amkit.train.trainer import Trainer

    clock = [0.0]  # a fake clock: each training epoch takes 30 s, nothing else takes time
    train_epoch = Trainer._train_epoch

    def slow_epoch(self, epoch):
        clock[0] += 30.0
        return train_epoch(self, epoch)

    monkeypatch.setattr(Trainer, "_train_epoch", slow_epoch)
    monkeypatch.setattr("amkit.train.trainer.time.perf_counter", lambda: clock[0])
    result = amkit.run(
        DEMO_CONFIG,
        run_dir=tmp_path / "run",
        overrides=[*TINY, "train.epochs=50", "train.eval_every=5", "train.time_limit_minutes=4"],
    )
    # 8 epochs of 30 s fill the 4 minutes; the 8th is validated though 8 % 5 != 0
    assert [r["seconds"] for r in result.history] == [30.0 * k for k in range(1, 9)]
    assert [r["epoch"] for r in result.history if "val_accuracy" in r] == [5, 8]


def test_load_model_names_the_mismatch(tmp_path):
    save_model(torch.nn.Linear(3, 2), tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="does not fit Sequential"):
        load_model(torch.nn.Sequential(torch.nn.Linear(3, 2)), tmp_path / "m.safetensors")


def test_repeats_keep_the_best_on_validation_and_resume(tmp_path):
    from amkit.experiments.repeats import run_repeats

    overrides = [*TINY, "train.epochs=1"]
    best = run_repeats(DEMO_CONFIG, tmp_path / "rep", repeats=2, overrides=overrides)
    summary = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    vals = [r["val"]["accuracy"] for r in summary["repeats"]]
    assert [r["seed"] for r in summary["repeats"]] == [0, 1]
    assert summary["selected_repeat"] == vals.index(max(vals))
    assert best.run_dir == tmp_path / "rep" / f"repeat-{summary['selected_repeat']}"
    # the top-level folder evaluates like a run directory
    assert amkit.evaluate_run(tmp_path / "rep")["accuracy"] == pytest.approx(
        summary["test"]["accuracy"]
    )
    # running again skips finished repeats (no new epoch lines)
    before = (tmp_path / "rep" / "repeat-0" / "metrics.jsonl").read_text()
    run_repeats(DEMO_CONFIG, tmp_path / "rep", repeats=2, overrides=overrides)
    assert (tmp_path / "rep" / "repeat-0" / "metrics.jsonl").read_text() == before
    # ... but never mixes in repeats trained with another config
    with pytest.raises(ConfigError, match=r"train.lr: 0.001 on disk, 0.5 asked"):
        run_repeats(
            DEMO_CONFIG, tmp_path / "rep", repeats=2, overrides=[*overrides, "train.lr=0.5"]
        )


def test_clip_gradients_global_and_per_parameter():
    from amkit.train.trainer import clip_gradients

    def params():
        a, b = torch.zeros(3, requires_grad=True), torch.zeros(4, requires_grad=True)
        a.grad, b.grad = torch.full((3,), 10.0), torch.full((4,), 0.1)
        return a, b

    a, b = params()
    clip_gradients([a, b], 1.0, "global")
    total = torch.cat([a.grad, b.grad]).norm()
    assert total == pytest.approx(1.0, rel=1e-4)
    assert b.grad.norm() < 0.02  # scaled down with the rest
    a, b = params()
    clip_gradients([a, b], 1.0, "per_parameter")
    assert a.grad.norm() == pytest.approx(1.0, rel=1e-4)
    assert torch.equal(b.grad, torch.full((4,), 0.1))  # small one untouched


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (["train.scheduler=step", "train.step_size=2", "train.gamma=0.1"], [1.0, 1.0, 0.1, 0.1]),
        (["train.scheduler=cosine"], [1.0, 0.853553, 0.5, 0.146447]),
        # nothing improves with lr ~0: plateau halves after `patience` bad epochs
        (
            [
                "train.scheduler=plateau",
                "train.patience=1",
                "train.gamma=0.5",
                "train.monitor=val_loss",
                "train.mode=min",
                "train.lr=1e-5",
            ],
            None,
        ),
    ],
)
def test_schedulers_follow_their_rule(tmp_path, schedule, expected):
    result = amkit.run(
        DEMO_CONFIG,
        run_dir=tmp_path / "run",
        overrides=[*TINY, "train.epochs=4", "train.optimizer=sgd", "train.lr=1.0", *schedule],
    )
    lrs = [round(h["lr"], 6) for h in result.history]
    if expected is not None:
        assert lrs == expected
    else:
        lrs = [h["lr"] for h in result.history]
        assert lrs[0] == 1e-5 and lrs[-1] <= 0.5e-5 and lrs == sorted(lrs, reverse=True)


def test_warmup_schedule_rises_linearly_then_decays_with_inverse_sqrt():
    from amkit.train.trainer import TrainConfig, make_scheduler

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = make_scheduler(TrainConfig(scheduler="warmup", warmup_steps=4), optimizer)
    lrs = []
    for _ in range(9):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [0.25, 0.5, 0.75, 1.0, (4 / 5) ** 0.5, (4 / 6) ** 0.5, (4 / 7) ** 0.5,
                (4 / 8) ** 0.5, (4 / 9) ** 0.5]  # fmt: skip
    assert lrs == pytest.approx(expected)


def test_evaluate_reports_macro_precision_recall_f1_on_every_example():
    from amkit.data.base import TensorDictDataset
    from amkit.models.base import ModelOutput
    from amkit.train.metrics import evaluate

    predictions = torch.tensor([0, 0, 1, 1, 1, 2, 0])
    targets = torch.tensor([0, 1, 1, 1, 2, 2, 0])

    class Fixed(torch.nn.Module):
        def forward(self, index, targets=None):
            return ModelOutput(logits=torch.nn.functional.one_hot(predictions[index], 3).float())

    data = TensorDictDataset({"index": torch.arange(7), "targets": targets})
    result = evaluate(Fixed(), data, batch_size=3)  # a partial last batch is still scored
    # per class (precision, recall): 0 (2/3, 1), 1 (2/3, 2/3), 2 (1, 1/2)
    assert result["n"] == 7 and result["accuracy"] == pytest.approx(5 / 7)
    assert result["precision"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert result["recall"] == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)
    f1 = [2 * p * r / (p + r) for p, r in ((2 / 3, 1), (2 / 3, 2 / 3), (1, 1 / 2))]
    assert result["f1"] == pytest.approx(sum(f1) / 3)


@pytest.mark.parametrize("beta2", [0.999, 0.98])
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_adam_steps_like_the_reference_loop(name, beta2):
    """make_optimizer's fused Adam/AdamW gives torch's plain for-loop update, step after step,
    with ``train.adam_beta2`` as its second beta."""
    from amkit.train.trainer import TrainConfig, make_optimizer

    torch.manual_seed(0)
    fused_param = torch.nn.Parameter(torch.randn(50, 8))
    loop_param = torch.nn.Parameter(fused_param.detach().clone())
    start = fused_param.detach().clone()
    cfg = TrainConfig(optimizer=name, lr=0.01, weight_decay=0.1, adam_beta2=beta2)
    fused = make_optimizer(cfg, [fused_param])
    assert fused.defaults["fused"] is True
    assert fused.defaults["betas"] == (0.9, beta2)
    reference = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    loop = reference([loop_param], lr=0.01, betas=(0.9, beta2), weight_decay=0.1, foreach=False)
    for step in range(5):
        grad = torch.randn(50, 8, generator=torch.Generator().manual_seed(step))
        for param, optimizer in ((fused_param, fused), (loop_param, loop)):
            param.grad = grad.clone()
            optimizer.step()
    torch.testing.assert_close(fused_param, loop_param, atol=1e-6, rtol=1e-5)
    assert (fused_param - start).abs().mean() > 0.01  # the weights moved: a real comparison


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_uses_bf16_only_where_the_cpu_has_it(tmp_path, monkeypatch, native):
    """``train.precision: auto`` trains in bfloat16 on CPUs with native bfloat16 and in
    float32 elsewhere, and metrics.json records what was used."""
    from amkit.train import precision

    monkeypatch.setattr(precision, "native_bf16", lambda: native)
    overrides = [*TINY, "train.epochs=1", "train.precision=auto"]
    _, dtypes = _run_recording_training_dtypes(tmp_path / "run", overrides)
    assert dtypes == {torch.bfloat16 if native else torch.float32}
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["precision"] == ("bf16" if native else "fp32")


def test_explicit_bf16_warns_on_a_cpu_that_would_emulate_it(monkeypatch, caplog):
    from amkit.train import precision

    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    with caplog.at_level("WARNING", logger="amkit"):
        assert precision.resolve_precision("bf16") == "bf16"
    assert "emulated" in caplog.text and "precision: auto" in caplog.text
    monkeypatch.setattr(precision, "native_bf16", lambda: True)
    caplog.clear()
    assert precision.resolve_precision("bf16") == "bf16"
    assert precision.resolve_precision("fp32") == "fp32"
    assert caplog.text == ""


def test_importing_amkit_changes_nothing_and_the_command_opts_in_to_huge_pages():
    """``import amkit`` neither imports torch nor sets an environment variable; the ``amkit``
    command turns huge pages on before torch, unless the user chose (PyTorch reads
    THP_MEM_ALLOC_ENABLE at its first allocation)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    code = "import os, amkit, sys; print(os.environ.get('THP_MEM_ALLOC_ENABLE'), 'torch' in sys.modules)"  # noqa: E501
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["None", "False"], out.stderr
    code = (  # what the command's main() does first, before any torch allocation
        "import os, amkit.cli; "
        "print(amkit.use_huge_pages(), os.environ.get('THP_MEM_ALLOC_ENABLE'))"
    )
    for preset, expected in ((None, ["True", "1"]), ("0", ["False", "0"])):
        env_run = dict(env) if preset is None else {**env, "THP_MEM_ALLOC_ENABLE": preset}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env_run, capture_output=True, text=True
        )
        assert out.stdout.split() == expected, out.stderr


def test_a_phase_change_gives_early_stopping_its_full_patience_again(tmp_path):
    """A model's ``restart_schedule`` (MemN2N's linear start ending, here at epoch 3) restarts
    the early-stopping count: with patience 2 and nothing improving, the run goes on to epoch
    5 instead of stopping at 3, and ``last.json`` keeps the epoch the count starts from."""
    from amkit.demo import MEMORY_DEMO_CONFIG

    result = amkit.run(
        MEMORY_DEMO_CONFIG,
        run_dir=tmp_path / "run",
        overrides=[
            "data.n_train=200",
            "data.n_test=50",
            "model.d_model=8",
            "train.epochs=30",
            "train.early_stopping=2",
            "train.lr=1e-12",
            "model.linear_start=true",
            "model.ls_max_epochs=3",
            "model.ls_patience=100",
        ],
    )
    ended = [r["epoch"] for r in result.history if r.get("linear_start_ended")]
    assert ended == [3]
    best_epoch = json.loads((tmp_path / "run" / "metrics.json").read_text())["best"]["epoch"]
    assert len(result.history) == max(best_epoch, 3) + 2 >= 5
    assert json.loads((tmp_path / "run" / "last.json").read_text())["patience_start"] == 3


# ---------------------------------------------------------------- train.init_from
def _weights(run_dir):
    return load_file(str(run_dir / "model.safetensors"))


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """One epoch of the demo recall model: the run the others start from."""
    out = tmp_path_factory.mktemp("init") / "source"
    amkit.run(DEMO_CONFIG, run_dir=out, overrides=[*TINY, "train.epochs=1"])
    return out


def test_a_run_starts_from_the_other_runs_weights(source_run, tmp_path):
    """With a learning rate of 1e-12 the epoch changes nothing: the new run's weights are the
    source's; without init_from the same run has weights of its own."""
    frozen = [*TINY, "train.epochs=1", "train.lr=1e-12", "seed=1"]
    started = amkit.run(
        DEMO_CONFIG, run_dir=tmp_path / "a", overrides=[*frozen, f"train.init_from={source_run}"]
    ).run_dir
    fresh = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "b", overrides=frozen).run_dir
    source, loaded, own = _weights(source_run), _weights(started), _weights(fresh)
    assert source.keys() == loaded.keys()
    for key in source:
        torch.testing.assert_close(loaded[key], source[key], atol=1e-6, rtol=0)
    assert max((own[k] - source[k]).abs().max().item() for k in source) > 1e-3
    # a weights file works as well as its run directory
    by_file = amkit.run(
        DEMO_CONFIG,
        run_dir=tmp_path / "c",
        overrides=[*frozen, f"train.init_from={source_run / 'model.safetensors'}"],
    ).run_dir
    torch.testing.assert_close(_weights(by_file), loaded, atol=1e-6, rtol=0)


def test_weights_of_another_shape_are_refused_with_the_key(source_run, tmp_path):
    with pytest.raises(ValueError, match=r"train\.init_from: .* does not fit .*shape \(") as err:
        amkit.run(
            DEMO_CONFIG,
            run_dir=tmp_path / "wide",
            overrides=[
                *TINY,
                "train.epochs=1",
                "model.d_model=24",
                f"train.init_from={source_run}",
            ],
        )
    assert "in the model" in str(err.value)


def test_a_missing_source_names_the_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match="train.init_from"):
        amkit.run(
            DEMO_CONFIG,
            run_dir=tmp_path / "run",
            overrides=[*TINY, f"train.init_from={tmp_path / 'nothing.safetensors'}"],
        )


def test_a_run_on_another_vocabulary_is_refused(tmp_path, sentiment_csv):
    """Text runs number their words from their own data: a source whose data section builds
    another vocabulary is refused before any weight is loaded."""
    train = sentiment_csv(tmp_path / "train.csv", n=200)
    test = sentiment_csv(tmp_path / "test.csv", n=60, seed=1)
    config = {
        "data": {"name": "text", "train": str(train), "test": str(test), "max_len": 16},
        "model": {"name": "text_classifier", "encoder": "cnn", "d_embed": 8, "d_hidden": 8},
        "train": {"epochs": 1, "batch_size": 32, "progress": False},
    }
    source = amkit.run(config, run_dir=tmp_path / "source").run_dir
    same = amkit.run(config, run_dir=tmp_path / "same", overrides=[f"train.init_from={source}"])
    assert same.metrics["epochs"] == 1
    with pytest.raises(ValueError, match="another vocabulary"):  # seed 1 carves another
        amkit.run(  # validation split out of train, and the vocabulary comes from the rest
            config, run_dir=tmp_path / "seed1", overrides=["seed=1", f"train.init_from={source}"]
        )
    with pytest.raises(ValueError, match="another vocabulary"):
        amkit.run(
            config,
            run_dir=tmp_path / "other",
            overrides=["data.min_freq=100", f"train.init_from={source}"],
        )


def test_init_partial_adds_a_knowledge_module_to_a_trained_plain_model(tmp_path, sentiment_csv):
    """``train.init_partial``: a region CNN with lexicon knowledge starts from a plain one.
    The source's tensors are loaded; the knowledge filters keep their fresh init (zero here,
    so at step 0 the model is the source); without init_partial the missing ones are named."""
    lexicon = tmp_path / "lex.csv"
    lexicon.write_text("word,valence\ngreat,3\nsuperb,3\nawful,-3\nboring,-2\n", encoding="utf-8")
    train = sentiment_csv(tmp_path / "train.csv", n=200)
    test = sentiment_csv(tmp_path / "test.csv", n=60, seed=1)
    model = {"name": "text_classifier", "encoder": "region", "pooling": "max", "d_embed": 8}
    config = {
        "data": {"name": "text", "train": str(train), "test": str(test), "max_len": 16},
        "model": model,
        "train": {"epochs": 1, "batch_size": 32, "progress": False},
    }
    source = amkit.run(config, run_dir=tmp_path / "source").run_dir
    knowledge = [
        "model.knowledge=lexicon",
        f"model.lexicons=[{lexicon}]",
        "model.region_knowledge_init=zero",
        f"train.init_from={source}",
        "train.lr=1e-12",  # the epoch changes nothing: the weights are where they started
    ]
    with pytest.raises(ValueError, match=r"fusion\.conv\.weight: missing from"):
        amkit.run(config, run_dir=tmp_path / "strict", overrides=knowledge)
    started = amkit.run(
        config, run_dir=tmp_path / "partial", overrides=[*knowledge, "train.init_partial=true"]
    )
    before, after = _weights(source), _weights(started.run_dir)
    for key in before:
        torch.testing.assert_close(after[key], before[key], atol=1e-6, rtol=0)
    assert after["fusion.conv.weight"].abs().max() < 1e-6 and "knowledge_table" in after
    assert started.metrics["test"]["accuracy"] == pytest.approx(
        json.loads((source / "metrics.json").read_text())["test"]["accuracy"]
    )
    log = (started.run_dir / "train.log").read_text(encoding="utf-8")
    assert "kept their fresh init" in log and "fusion.conv.weight" in log
    with pytest.raises(ConfigError, match="init_partial"):
        load_config(config, ["train.init_partial=true"])


def test_tensorboard_events_hold_every_epochs_metrics(tmp_path):
    """With the tensorboard extra installed, events/ holds the scalars of metrics.jsonl."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "tb", overrides=[*TINY, "train.epochs=2"])
    events = EventAccumulator(str(tmp_path / "tb" / "events")).Reload()
    losses = [(e.step, e.value) for e in events.Scalars("train_loss")]
    expected = [(r["epoch"], r["train_loss"]) for r in result.history]
    assert [step for step, _ in losses] == [1, 2]
    assert [v for _, v in losses] == pytest.approx([v for _, v in expected], rel=1e-6)
    assert "val_accuracy" in events.Tags()["scalars"]


def test_a_run_killed_before_its_first_epoch_resumes_from_the_start(tmp_path, capsys):
    """SIGKILL before the first epoch ends leaves config.yaml and no checkpoint: --resume
    trains from epoch 1 with the saved config instead of telling the user to start over."""
    import signal
    import subprocess
    import sys
    import time

    from amkit.cli import main

    out = tmp_path / "run"
    slow = [*TINY, "data.n_train=20000", "train.epochs=2"]
    child = subprocess.Popen(
        [sys.executable, "-m", "amkit.cli", "train", "demo/recall", "--out", str(out),
         "--set", *slow],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (out / "config.yaml").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert (out / "config.yaml").is_file() and not (out / "last.json").exists()
    assert main(["train", "--resume", str(out), "--set", "data.n_train=200"]) == 0
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in history] == [1, 2]


def test_a_run_stopped_mid_epoch_resumes_exactly_from_its_step_checkpoint(tmp_path):
    """train.checkpoint_every: a run stopped inside an epoch, after a step checkpoint,
    resumes there and ends with the same weights and history as a run never stopped."""
    from safetensors.torch import load_file

    from amkit.train.trainer import Trainer

    sets = [*TINY, "train.epochs=2", "train.checkpoint_every=3", "model.dropout=0.1"]
    whole = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "whole", overrides=sets)
    original_save = Trainer._save

    def save_then_stop(self, epoch, partial=None):
        original_save(self, epoch, partial)
        if partial is not None and epoch == 1 and partial["step"] == 6:  # inside epoch 2
            raise KeyboardInterrupt

    Trainer._save = save_then_stop
    try:
        with pytest.raises(KeyboardInterrupt):
            amkit.run(DEMO_CONFIG, run_dir=tmp_path / "stopped", overrides=sets)
    finally:
        Trainer._save = original_save
    resumed = amkit.run(None, run_dir=tmp_path / "stopped", resume=True)
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "stopped" / "model.safetensors"))
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=0)
    keys = ("epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
    assert [{k: r[k] for k in keys} for r in resumed.history] == [
        {k: r[k] for k in keys} for r in whole.history
    ]
