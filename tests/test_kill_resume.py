"""Crash safety: ``amkit train`` and ``amkit sweep`` killed with SIGKILL, then resumed.

Each kill is real (the process sends itself SIGKILL through :func:`amkit.io.fault_point`,
``AMKIT_FAULT=kill:N:PREFIX``): before the first checkpoint, mid-epoch (after an optimizer
step), while a checkpoint or metrics file is written (its temp file complete, not yet
renamed) and just after a rename. After every kill the run directory must hold only whole
files (every JSON parses, every safetensors file loads, the config reads back); the chain
of resumes must end with exactly the weights and metrics of a run never interrupted.

The reference run is a fresh ``python -m amkit.cli train`` process. The killed and resumed
commands are forked from one warm process (``tests/amkit_forks.py``: ``amkit.cli.main`` in
a child process of its own), so that a command costs a fraction of a second rather than the
seconds of a fresh interpreter's imports; the slow tests repeat the sweep with fresh
processes. Default suite: one chain through five named points, 10 seeded chains of up to 3
kills at random points, and a sweep killed twice (``AMKIT_KILL_TRIALS=N`` sets the number of
seeded chains). ``pytest -m slow tests/test_kill_resume.py``: 50 more chains of up to 5
kills, and the sweep as fresh processes. The kill counts are printed in the test summary.
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
from amkit_forks import Forks

SETS = ["data.n_keys=8", "data.n_pairs=3", "data.n_train=192", "data.n_val=32",
        "data.n_test=32", "model.d_model=8", "model.dropout=0.1", "train.batch_size=32",
        "train.epochs=3", "train.checkpoint_every=2", "train.progress=false"]  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]
TIMING = {"seconds", "train_examples_per_second"}
TRIALS = int(os.environ.get("AMKIT_KILL_TRIALS", "10"))
KILLED = -signal.SIGKILL


def _count(**counts: int) -> None:
    """Add to the kill counts that conftest's test summary prints."""
    folder = os.environ.get("AMKIT_FUZZ_COUNTS")
    if folder and Path(folder).is_dir():
        path = Path(folder, f"{os.getpid()}.kills")
        total = Counter(json.loads(path.read_text()) if path.is_file() else {})
        total.update(counts)
        path.write_text(json.dumps(total))


@pytest.fixture(scope="module")
def forks(tmp_path_factory):
    server = Forks(tmp_path_factory.mktemp("forks"))
    yield server
    server.close()


def _train(forks: Forks, run: Path, fault: str | None, resume: bool) -> int:
    """``amkit train`` (fresh into ``run``, or ``--resume run``) in a forked child under
    ``AMKIT_FAULT=fault``; its exit status (-9: killed)."""
    args = ["--resume", str(run)] if resume else ["demo/recall", "--out", str(run), "--set", *SETS]
    log = run.parent / f"{run.name}.log"
    status = forks.run(["train", *args], env={"AMKIT_FAULT": fault} if fault else {}, log=log)
    assert status in (0, KILLED), log.read_text()[-2000:]
    return status


def assert_whole(run: Path) -> None:
    """Every file a reader opens is whole (JSON parses, weights load, the config reads), and
    the run loads as a model, or says that it must be resumed first."""
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
    import amkit

    if (run / "model.safetensors").is_file():  # as `amkit evaluate` and `explain` load it
        amkit.load(run)
    elif (run / "config.yaml").is_file():  # no epoch finished yet: loading says to resume
        with pytest.raises(FileNotFoundError, match="resume it with `amkit train --resume"):
            amkit.load(run)


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
    """A run never interrupted, in a fresh ``amkit`` process (not forked), and how often it
    reached each kind of fault point."""
    run = tmp_path_factory.mktemp("ref") / "run"
    trace = run.parent / "trace.txt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
           "AMKIT_FAULT_TRACE": str(trace)}  # fmt: skip
    env.pop("AMKIT_FAULT", None)
    child = subprocess.run(
        [sys.executable, "-m", "amkit.cli", "train", "demo/recall", "--out", str(run),
         "--set", *SETS],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-2000:]
    return run, Counter(trace.read_text().split())


def _chain(forks: Forks, run: Path, faults: list[str]) -> int:
    """Train into ``run`` under each fault in turn (the first fresh, then resumes), then
    resume without a fault; the run directory is checked after every kill. A run killed
    before it saved its config cannot be resumed (it says so): it is started again, as the
    message says. Returns the number of kills."""
    kills = 0
    for fault in [*faults, None]:
        resume = kills > 0
        if resume and not (run / "config.yaml").is_file():
            assert forks.run(["train", "--resume", str(run)], log=run.parent / "log") == 2
            assert (
                f"start it again with `amkit train CONFIG --out {run}`"
                in (run.parent / "log").read_text()
            )
            resume = False
        status = _train(forks, run, fault, resume=resume)
        if status == 0:
            break  # finished (no fault, or the run ended before reaching the point)
        assert fault is not None, "a run without a fault was killed"
        kills += 1
        assert_whole(run)
    assert_whole(run)
    assert not list(run.glob(".*.tmp")), "a finished run leaves no temp files"
    return kills


NAMED = [
    "kill:1:train:step",  # inside epoch 1, before its first step checkpoint
    "kill:2:write:last.safetensors:temp",  # a checkpoint's temp file complete, not renamed
    "kill:3:train:step",  # mid-epoch, after a step checkpoint
    "kill:1:write:metrics.jsonl:done",  # an epoch's line written, its checkpoint not yet
    "kill:2:write:last.json:temp",  # the checkpoint renamed, its readable copy not yet
]


def _random_faults(rng: random.Random, points: Counter, max_kills: int) -> list[str]:
    """1 to ``max_kills`` faults ``kill:N:KIND``, each at a random one of the ``points``."""
    faults = []
    for _ in range(rng.randint(1, max_kills)):
        kind = rng.choice(sorted(points))
        faults.append(f"kill:{rng.randint(1, points[kind])}:{kind}")
    return faults


def _random_chains(forks, reference, folder: Path, seeds: range, max_kills: int) -> None:
    """One seeded chain of up to ``max_kills`` kills at random points of every kind (any
    step, any write's temp file or rename) per seed; each must end as the reference."""
    ref_run, points = reference
    total = 0
    for seed in seeds:
        faults = _random_faults(random.Random(seed), points, max_kills)
        try:
            kills = _chain(forks, folder / f"seed{seed}", faults)
            assert kills >= 1  # the first fault is in a fresh run, which reaches every point
            assert_same_outcome(folder / f"seed{seed}", ref_run)
        except AssertionError as error:
            raise AssertionError(f"seed {seed}, faults {faults}: {error}") from error
        total += kills
    label = f"amkit train, random points (chains of 1-{max_kills} kills)"
    _count(**{f"{label}: chains": len(seeds), f"{label}: kills": total,
              f"{label}: resumed to identical weights and metrics": len(seeds)})  # fmt: skip


def test_killed_runs_resume_to_the_same_weights_and_metrics(forks, reference, tmp_path):
    """Killed before the first checkpoint, while a checkpoint is written, mid-epoch,
    between metrics.jsonl and the checkpoint, and between the checkpoint and last.json; then
    ``AMKIT_KILL_TRIALS`` (10) seeded chains of 1-3 kills at random points: every resumed
    run ends as the reference."""
    ref_run, points = reference
    assert points["train:step"] == 18 and points["write:last.safetensors:temp"] == 9
    assert _chain(forks, tmp_path / "named", NAMED) == len(NAMED)
    assert_same_outcome(tmp_path / "named", ref_run)
    early = tmp_path / "early"  # killed before its first checkpoint: the resume says so
    assert _train(forks, early, "kill:1:train:step", resume=False) == KILLED
    assert _train(forks, early, "kill:1:train:step", resume=True) == KILLED
    assert (
        "has no finished epoch to resume from: training from epoch 1"
        in (tmp_path / "early.log").read_text()
    )
    _count(**{"amkit train, named points: kills": len(NAMED) + 2})
    _random_chains(forks, reference, tmp_path, range(TRIALS), max_kills=3)


@pytest.mark.slow
def test_more_random_kills_resume_to_the_same_weights_and_metrics(forks, reference, tmp_path):
    """50 more seeded chains, of up to five kills each."""
    _random_chains(forks, reference, tmp_path, range(1000, 1050), max_kills=5)


def _sweep(forks: Forks | None, out: Path, fault: str | None, trace: Path | None = None) -> int:
    """``amkit sweep`` over two seeds with one worker: forked from ``forks`` (its worker
    forked too), or a fresh process spawning its worker (``forks=None``); its exit status."""
    argv = ["sweep", "demo/recall", "--seeds", "0,1", "--workers", "1", "--threads", "1",
            "--out", str(out), "--set", *SETS]  # fmt: skip
    env = {"AMKIT_FAULT": fault} if fault else {}  # the worker inherits it: the worker dies
    if trace:
        env["AMKIT_FAULT_TRACE"] = str(trace)
    log = out.parent / f"{out.name}.log"
    if forks is not None:
        status = forks.run(argv, env=env, log=log, fork_workers=True)
        output = log.read_text()
    else:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **env}
        if not fault:
            env.pop("AMKIT_FAULT", None)
        child = subprocess.run(
            [sys.executable, "-m", "amkit.cli", *argv],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        status, output = child.returncode, child.stdout + child.stderr
    assert status in (0, 1), output[-2000:]  # 1: a run failed (its worker died)
    return status


CELLS = ("seed0", "seed1")


def _finished(out: Path) -> dict[str, int]:
    """The finished cells of a sweep: ``{cell: metrics.json's mtime}``."""
    return {
        cell: (out / "default" / cell / "metrics.json").stat().st_mtime_ns
        for cell in CELLS
        if (out / "default" / cell / "metrics.json").is_file()
    }


def _assert_sweep_resumed(forks: Forks | None, out: Path, reference: Path) -> None:
    """Every cell is whole after the kills; rerunning the sweep never retrains a finished
    cell and ends every cell as the uninterrupted sweep's."""
    for cell in CELLS:
        if (out / "default" / cell).is_dir():
            assert_whole(out / "default" / cell)
    finished = _finished(out)
    assert _sweep(forks, out, None) == 0
    assert {cell: _finished(out)[cell] for cell in finished} == finished, "retrained"
    for cell in CELLS:
        assert_whole(out / "default" / cell)
        assert_same_outcome(out / "default" / cell, reference / cell)


def _killed_sweep(forks: Forks | None, out: Path, reference: Path) -> None:
    """The worker killed right after seed 0 finished, then inside seed 1's checkpoint write:
    rerunning never retrains seed 0, and both cells end as an uninterrupted sweep's."""
    assert _sweep(forks, out, "kill:1:write:metrics.json:done") == 1
    assert _finished(out).keys() == {"seed0"}
    assert not (out / "default" / "seed1").exists()  # not started
    assert _sweep(forks, out, "kill:2:write:last.safetensors:temp") == 1
    assert (out / "default" / "seed1" / "last.safetensors").is_file()  # half-written
    assert _finished(out).keys() == {"seed0"}
    _assert_sweep_resumed(forks, out, reference)
    _count(**{"amkit sweep, named points: kills": 2})


def test_killed_sweeps_keep_finished_cells_and_resume_the_rest(forks, tmp_path):
    """The named kills above, then ``AMKIT_KILL_TRIALS`` (10) seeded sweeps whose worker is
    killed once or twice at random points of either cell (one worker trains both cells, so
    its points are counted over both; the sweep's own summary writes are left out)."""
    trace = tmp_path / "trace.txt"
    assert _sweep(forks, tmp_path / "ref", None, trace=trace) == 0
    reference = tmp_path / "ref" / "default"
    _killed_sweep(forks, tmp_path / "named", reference)
    summaries = {path.name for path in (tmp_path / "ref").iterdir() if path.is_file()}
    points = Counter(
        name for name in trace.read_text().split() if name.split(":")[1] not in summaries
    )
    assert points["train:step"] == 2 * 18
    kills = 0
    for seed in range(TRIALS):
        faults = _random_faults(random.Random(seed), points, max_kills=2)
        out = tmp_path / f"seed{seed}"
        try:
            for fault in faults:
                kills += _sweep(forks, out, fault) == 1
            _assert_sweep_resumed(forks, out, reference)
        except AssertionError as error:
            raise AssertionError(f"seed {seed}, faults {faults}: {error}") from error
    label = "amkit sweep, random points (1-2 kills)"
    _count(**{f"{label}: sweeps": TRIALS, f"{label}: kills": kills,
              f"{label}: resumed to identical metrics": TRIALS})  # fmt: skip


@pytest.mark.slow
def test_a_killed_sweep_of_fresh_processes_resumes(tmp_path):
    """The named kills again, each sweep a fresh process that spawns its worker, as
    ``amkit sweep`` runs."""
    assert _sweep(None, tmp_path / "ref", None) == 0
    _killed_sweep(None, tmp_path / "sweep", tmp_path / "ref" / "default")
