"""``amkit sweep``: grid x seeds in worker processes, resumable, with statistics."""

from __future__ import annotations

import csv
import json
import math
import shutil

import pytest
import yaml
from scipy import stats

from amkit.cli import main
from amkit.config import ConfigError
from amkit.demo import DEMO_CONFIG
from amkit.experiments.sweep import (
    mean_std_ci,
    paired_test,
    parse_grid,
    parse_seeds,
    parse_variants,
    plan,
    run_sweep,
)

TINY = [
    "data.n_keys=8",
    "data.n_pairs=3",
    "data.n_train=128",
    "data.n_val=32",
    "data.n_test=48",
    "model.d_model=8",
    "train.batch_size=32",
    "train.epochs=1",
    "train.progress=false",
]


def test_plan_is_every_combination_times_every_seed(tmp_path):
    grid = parse_grid(["model.score=dot,additive", "train.lr=0.01,0.001"])
    runs = plan(grid, [0, 1], tmp_path)
    assert len(runs) == 8
    assert runs[0].run_dir == tmp_path / "score=dot,lr=0.01" / "seed0"
    assert runs[0].overrides == ["model.score=dot", "train.lr=0.01", "seed=0"]
    assert len({r.run_dir for r in runs}) == 8
    assert plan([], [3], tmp_path)[0].run_dir == tmp_path / "default" / "seed3"


@pytest.mark.parametrize(
    "entry, message",
    [
        ("model.hops", "expected KEY=V1,V2"),
        ("model.hops=1,,2", "non-empty and distinct"),
        ("model.hops=1,1", "non-empty and distinct"),
    ],
)
def test_bad_grid_entries_are_named(entry, message):
    with pytest.raises(ValueError, match=message):
        parse_grid([entry])


def test_bad_seeds_are_named():
    with pytest.raises(ValueError, match="--seeds '0,x'"):
        parse_seeds("0,x")
    assert parse_seeds("0,1,2") == [0, 1, 2]


def test_confidence_interval_is_the_student_t_formula():
    values = [0.80, 0.84, 0.83]
    got = mean_std_ci(values)
    mean = sum(values) / 3
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    half = 4.302652729911275 * std / math.sqrt(3)  # t(0.975, df=2)
    assert got["mean"] == pytest.approx(mean) and got["std"] == pytest.approx(std)
    assert (got["ci95_low"], got["ci95_high"]) == pytest.approx((mean - half, mean + half))
    assert mean_std_ci([0.5])["std"] is None


def test_paired_test_pairs_by_seed():
    a = {0: 0.80, 1: 0.82, 2: 0.85, 3: 0.90}
    b = {0: 0.83, 1: 0.84, 2: 0.88}  # seed 3 missing: not paired
    result = paired_test(a, b)
    reference = stats.ttest_rel([0.83, 0.84, 0.88], [0.80, 0.82, 0.85])
    assert result["n_pairs"] == 3
    assert result["mean_difference"] == pytest.approx((0.03 + 0.02 + 0.03) / 3)
    assert result["p_value"] == pytest.approx(reference.pvalue)
    assert paired_test(a, a)["p_value"] is None  # identical results: no test


def test_sweep_trains_in_workers_summarizes_and_resumes(tmp_path, capsys):
    out = tmp_path / "sweep"
    config = tmp_path / "recall.yaml"
    config.write_text(yaml.safe_dump(DEMO_CONFIG))
    args = ["sweep", str(config), "--seeds", "0,1", "--grid", "model.score=dot,additive"]
    args += ["--workers", "2", "--threads", "1", "--out", str(out), "--set", *TINY]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "4 runs (2 variants x 2 seeds): 0 finished, 4 to train" in printed
    for variant in ("score=dot", "score=additive"):
        for seed in (0, 1):
            metrics = json.loads((out / variant / f"seed{seed}" / "metrics.json").read_text())
            assert metrics["seed"] == seed
    summary = json.loads((out / "summary.json").read_text())
    assert [v["variant"] for v in summary["variants"]] == ["score=dot", "score=additive"]
    dot = summary["variants"][0]["test_accuracy"]
    assert dot["n"] == 2 and dot["ci95_low"] <= dot["mean"] <= dot["ci95_high"]
    assert summary["variants"][1]["vs_score=dot"]["n_pairs"] == 2
    with open(out / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"done"}
    assert (out / "summary.png").stat().st_size > 0
    assert "| `score=additive` | 0,1 |" in (out / "summary.md").read_text()

    # a killed sweep: one run lost its result -> only that one trains again
    finished = out / "score=additive" / "seed1" / "metrics.json"
    kept = (out / "score=dot" / "seed0" / "metrics.json").stat().st_mtime_ns
    finished.unlink()
    assert main(args) == 0
    assert "3 finished, 1 to train" in capsys.readouterr().out
    assert finished.is_file()
    assert (out / "score=dot" / "seed0" / "metrics.json").stat().st_mtime_ns == kept


def test_sweep_checks_every_config_before_training(tmp_path):
    with pytest.raises(ConfigError, match="scroe"):
        run_sweep(DEMO_CONFIG, tmp_path, grid=parse_grid(["model.scroe=dot,additive"]),
                  overrides=TINY, on_event=lambda _: None)  # fmt: skip
    assert not any(tmp_path.iterdir())


def test_named_variants_make_an_ablation(tmp_path):
    variants = parse_variants(["full:", "no_memory:model.memory=none,model.hops=1"])
    runs = plan([], [0, 1], tmp_path, variants)
    assert [(r.variant, r.seed) for r in runs] == [
        ("full", 0), ("full", 1), ("no_memory", 0), ("no_memory", 1)
    ]  # fmt: skip
    assert runs[2].overrides == ["model.memory=none", "model.hops=1", "seed=0"]
    with pytest.raises(ValueError, match="not KEY=VALUE"):
        parse_variants(["bad:model.memory"])
    with pytest.raises(ValueError, match="either --grid or --variant"):
        plan(parse_grid(["model.hops=1,2"]), [0], tmp_path, variants)


def test_seed_placeholder_gives_each_seed_its_own_setting(tmp_path):
    from amkit.experiments.run import load_config

    variants = parse_variants(["a:data.n_val={seed}0"])
    runs = plan([], [3, 4], tmp_path, variants)
    common = [*TINY, "data.n_test={seed}1"]
    assert runs[1].all_overrides(["x={seed}"]) == ["x=4", "data.n_val=40", "seed=4"]
    configs = [load_config(DEMO_CONFIG, r.all_overrides(common)) for r in runs]
    assert [(c.data.config.n_val, c.data.config.n_test) for c in configs] == [(30, 31), (40, 41)]


@pytest.mark.skipif(shutil.which("pgrep") is None, reason="needs pgrep (procps)")
def test_a_killed_sweep_leaves_no_worker_behind(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    config = tmp_path / "recall.yaml"
    config.write_text(yaml.safe_dump(DEMO_CONFIG))
    command = [sys.executable, "-m", "amkit.cli", "sweep", str(config), "--seeds", "0",
               "--out", str(tmp_path / "s"), "--set", "train.epochs=50"]  # fmt: skip
    sweep = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    log = tmp_path / "s" / "default" / "seed0" / "train.log"
    deadline = time.time() + 60
    while not log.is_file() and time.time() < deadline:  # the worker has started training
        time.sleep(0.5)
    assert log.is_file()
    children = subprocess.run(["pgrep", "-P", str(sweep.pid)], capture_output=True, text=True)
    workers = [int(pid) for pid in children.stdout.split()]
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    time.sleep(3)
    alive = []
    for pid in workers:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    assert not alive, f"workers {alive} outlived the sweep"


def test_the_compared_metric_follows_the_monitor_or_metric(tmp_path):
    """A translation sweep compares BLEU (its monitor), not accuracy; --metric overrides."""
    import json

    from amkit.experiments.sweep import (
        SweepRun,
        default_metric,
        parse_metric,
        render_markdown,
        summarize,
    )

    assert default_metric("val_bleu") == "test_bleu"
    assert default_metric("val_full_ndcg@10") == "test_full_ndcg@10"
    assert default_metric("train_loss") == "test_accuracy"
    assert parse_metric("test_hr@10") == ("test", "hr@10")
    with pytest.raises(ValueError, match="--metric: 'bleu' is not SPLIT_KEY"):
        parse_metric("bleu")
    runs = []
    for variant, bleus in (("gru", [30.0, 31.0]), ("transformer", [36.0, 38.0])):
        for seed, bleu in enumerate(bleus):
            run_dir = tmp_path / variant / f"seed{seed}"
            run_dir.mkdir(parents=True)
            metrics = {"test": {"bleu": bleu, "loss": 2.0}, "timings": {"train_seconds": 10}}
            (run_dir / "metrics.json").write_text(json.dumps(metrics))
            runs.append(SweepRun(variant, (("model.arch", variant),), seed, run_dir))
    summary = summarize(runs, {}, "test_bleu")
    versus = summary["variants"][1]["vs_gru"]
    assert summary["compared_metric"] == "test_bleu" and versus["n_pairs"] == 2
    assert versus["mean_difference"] == pytest.approx(6.5)  # BLEU points, not scaled
    page = render_markdown(summary, "amkit sweep ...")
    assert "| variant | seeds | test bleu | test accuracy |" in page
    assert "| `transformer` | 0,1 | 37.00 ± 1.41" in page and "+6.50, p = " in page


def test_ray_backend_gives_the_local_backends_runs_and_summary(tmp_path):
    """A 2-variant sweep on a local Ray (started and stopped by the sweep) trains the same
    run directories to the same numbers as the local process pool. One worker: each Ray
    worker process costs seconds of imports, and parallel runs are the local tests' part."""
    pytest.importorskip("ray")
    import json

    from amkit.experiments.sweep import run_sweep

    config = DEMO_CONFIG
    common = dict(seeds=[1], grid=[("model.score", ["dot", "general"])], workers=1,
                  overrides=TINY, threads=1, on_event=lambda _: None)  # fmt: skip
    local = run_sweep(config, tmp_path / "local", **common)
    remote = run_sweep(config, tmp_path / "ray", backend="ray", **common)
    assert not local["failed"] and not remote["failed"]
    for a, b in zip(local["runs"], remote["runs"], strict=True):
        assert (a["variant"], a["seed"], a["status"]) == (b["variant"], b["seed"], "done")
        assert b["test_accuracy"] == a["test_accuracy"]
    table = json.loads((tmp_path / "ray" / "summary.json").read_text())
    assert [v["variant"] for v in table["variants"]] == ["score=dot", "score=general"]


def test_an_unreachable_ray_address_is_one_line(tmp_path):
    pytest.importorskip("ray")
    with pytest.raises(ValueError, match="--ray-address 127.0.0.1:1: cannot start or join Ray"):
        run_sweep(DEMO_CONFIG, tmp_path / "s", backend="ray", ray_address="127.0.0.1:1",
                  overrides=TINY, on_event=lambda _: None)  # fmt: skip


def test_ray_options_are_checked(tmp_path):
    from amkit.experiments.sweep import run_sweep

    with pytest.raises(ValueError, match="--ray-address and --gpus-per-run need --backend ray"):
        run_sweep(DEMO_CONFIG, tmp_path / "s", ray_address="127.0.0.1:1", overrides=TINY,
                  on_event=lambda _: None)  # fmt: skip
