"""Crash safety: ``amkit train`` killed with SIGKILL at chosen points, then ``--resume``d.

Each kill is real (the process sends itself SIGKILL through :func:`amkit.io.fault_point`,
``AMKIT_FAULT=kill:N:PREFIX``): before the first checkpoint, mid-epoch (after an optimizer
step), while a checkpoint or metrics file is written (its temp file complete, not yet
renamed) and just after a rename. After every kill the run directory must hold only whole
files (every JSON parses, every safetensors file loads, the config reads back); the chain
of resumes must end with exactly the weights and metrics of a run never interrupted.

The default test makes five kills in one chain (seven short processes); the slow ones
make seeded random chains (``pytest -m slow tests/test_kill_resume.py``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml

SETS = ["data.n_keys=8", "data.n_pairs=3", "data.n_train=192", "data.n_val=32",
        "data.n_test=32", "model.d_model=8", "model.dropout=0.1", "train.batch_size=32",
        "train.epochs=3", "train.checkpoint_every=2", "train.progress=false"]  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]
TIMING = {"seconds", "train_examples_per_second"}


def _train(run: Path, fault: str | None, resume: bool, trace: Path | None = None) -> int:
    """Run ``amkit train`` in a child process; its exit status (-9: killed)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("AMKIT_FAULT", None)
    if fault:
        env["AMKIT_FAULT"] = fault
    if trace:
        env["AMKIT_FAULT_TRACE"] = str(trace)
    args = ["--resume", str(run)] if resume else ["demo/recall", "--out", str(run), "--set", *SETS]
    child = subprocess.run(
        [sys.executable, "-m", "amkit.cli", "train", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode in (0, -signal.SIGKILL), child.stderr[-2000:]
    return child.returncode


def assert_whole(run: Path) -> None:
    """Every file a reader opens is whole: JSON parses, weights load, the config reads."""
    from amkit.io import read_tensors

    for path in run.iterdir():
        if path.name.startswith(".") or not path.is_file():
            continue  # temp files of a killed write (hidden, removed on resume), the lock
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.name == "metrics.jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                json.loads(line)
        elif path.suffix == ".safetensors":
            read_tensors(path)
        elif path.suffix == ".yaml":
            assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)


def _outcome(run: Path) -> tuple[dict, list[dict], dict]:
    """Weights, the epoch history (without timings) and metrics.json's scores."""
    from amkit.io import read_tensors

    weights = read_tensors(run / "model.safetensors")
    history = [
        {k: v for k, v in json.loads(line).items() if k not in TIMING}
        for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    scores = {k: metrics[k] for k in ("best", "val", "test", "epochs")}
    scores["final"] = {k: v for k, v in metrics["final"].items() if k not in TIMING}
    return weights, history, scores


def assert_same_outcome(run: Path, reference: Path) -> None:
    weights, history, scores = _outcome(run)
    ref_weights, ref_history, ref_scores = _outcome(reference)
    assert weights.keys() == ref_weights.keys()
    for name, tensor in ref_weights.items():
        torch.testing.assert_close(weights[name], tensor, rtol=0, atol=0, msg=name)
    assert history == ref_history
    assert scores == ref_scores


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Counter]:
    """A run never interrupted, and how often it reached each kind of fault point."""
    run = tmp_path_factory.mktemp("ref") / "run"
    trace = run.parent / "trace.txt"
    assert _train(run, None, resume=False, trace=trace) == 0
    points = Counter(trace.read_text().split())
    return run, points


def _chain(run: Path, faults: list[str]) -> int:
    """Train into ``run`` under each fault in turn (the first fresh, then resumes), then
    resume without a fault; the run directory is checked after every kill. Returns kills."""
    kills = 0
    for i, fault in enumerate(faults):
        status = _train(run, fault, resume=i > 0)
        if status == 0:
            break  # the run finished before reaching the point
        kills += 1
        assert_whole(run)
    assert _train(run, None, resume=bool(faults)) == 0
    assert_whole(run)
    assert not list(run.glob(".*.tmp")), "a resumed run leaves no temp files"
    return kills


def test_killed_runs_resume_to_the_same_weights_and_metrics(reference, tmp_path):
    """Killed before the first checkpoint, while a checkpoint is written, mid-epoch,
    between metrics.jsonl and the checkpoint, and between the checkpoint and last.json: the
    resumed run ends as the reference."""
    ref_run, points = reference
    assert points["train:step"] == 18 and points["write:last.safetensors:temp"] == 9
    faults = [
        "kill:1:train:step",  # inside epoch 1, before its first step checkpoint
        "kill:2:write:last.safetensors:temp",  # a checkpoint's temp file complete, not renamed
        "kill:3:train:step",  # mid-epoch, after a step checkpoint
        "kill:1:write:metrics.jsonl:done",  # an epoch's line written, its checkpoint not yet
        "kill:2:write:last.json:temp",  # the checkpoint renamed, its readable copy not yet
    ]
    assert _chain(tmp_path / "run", faults) == len(faults)
    assert_same_outcome(tmp_path / "run", ref_run)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_random_kills_resume_to_the_same_weights_and_metrics(reference, tmp_path, seed):
    """A seeded chain of up to three kills at random points of every kind."""
    ref_run, points = reference
    rng = random.Random(seed)
    kinds = sorted(points)
    faults = []
    for _ in range(3):
        kind = rng.choice(kinds)
        faults.append(f"kill:{rng.randint(1, points[kind])}:{kind}")
    kills = _chain(tmp_path / "run", faults)
    assert kills >= 1, faults
    assert_same_outcome(tmp_path / "run", ref_run)


def _sweep(out: Path, fault: str | None) -> int:
    """``amkit sweep`` over two seeds with one worker; its exit status."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("AMKIT_FAULT", None)
    if fault:
        env["AMKIT_FAULT"] = fault  # the worker inherits it: the worker is killed
    child = subprocess.run(
        [sys.executable, "-m", "amkit.cli", "sweep", "demo/recall", "--seeds", "0,1",
         "--workers", "1", "--threads", "1", "--out", str(out), "--set", *SETS],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert child.returncode in (0, 1), child.stderr[-2000:]  # 1: a run failed (its worker died)
    return child.returncode


@pytest.mark.slow
def test_a_killed_sweep_keeps_finished_cells_and_resumes_the_rest(tmp_path):
    """The worker killed right after seed 0 finished, then inside seed 1's checkpoint write:
    rerunning never retrains seed 0, and both cells end as an uninterrupted sweep's."""
    assert _sweep(tmp_path / "ref", None) == 0
    out = tmp_path / "sweep"
    assert _sweep(out, "kill:1:write:metrics.json:done") == 1
    done = out / "default" / "seed0"
    kept = (done / "metrics.json").stat().st_mtime_ns
    assert_whole(done)
    assert _sweep(out, "kill:2:write:last.safetensors:temp") == 1
    assert_whole(out / "default" / "seed1")
    assert _sweep(out, None) == 0
    assert (done / "metrics.json").stat().st_mtime_ns == kept  # never retrained
    for seed in (0, 1):
        assert_whole(out / "default" / f"seed{seed}")
        assert_same_outcome(
            out / "default" / f"seed{seed}", tmp_path / "ref" / "default" / f"seed{seed}"
        )
