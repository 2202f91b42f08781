"""Sweeps: every combination of a grid of settings times seeds, one run directory each.

    amkit sweep CONFIG --seeds 0,1,2 --grid model.hops=1,2,3 --grid model.knowledge=none,lexicon
        --workers 2 --out DIR

runs ``len(seeds) x product(len(values))`` trainings as ``DIR/<variant>/seed<S>/`` (variant
names like ``hops=2,knowledge=lexicon``) in ``--workers`` parallel processes, each with
``cores // workers`` torch threads. An ablation lists named variants instead of a grid:
``--variant full: --variant no_memory:model.memory=none`` (the first is the baseline).
``{seed}`` in a value (of ``--set``, ``--grid`` or ``--variant``) becomes the run's seed,
for settings that differ per seed: ``data.teacher=runs/teacher-seed{seed}``.
It is resumable: a finished run (``metrics.json``) is skipped, an interrupted one
(``last.json``) resumes exactly, so a killed sweep continues where it stopped when the same
command runs again. A run that fails is reported and the others go on.

At the end (and after every finished run) it writes

- ``runs.csv``: one row per run (variant, seed, settings, metrics, seconds);
- ``summary.csv`` / ``summary.json`` / ``summary.md``: per variant and metric the mean,
  standard deviation and a 95 % confidence interval (Student t over seeds), plus a paired
  t-test of each variant against the first one on the compared metric, paired by seed;
- ``summary.png``: the compared metric per variant with the 95 % intervals.

The compared metric is ``--metric`` (``test_bleu``, ``test_hr@10``, ``val_accuracy``, ...: a
split and a key of ``metrics.json``); by default the test value of what the config's
``train.monitor`` watches on validation (``val_bleu`` -> ``test_bleu``), so a translation or
recommendation sweep summarises what it measures.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amkit.config import parse_override
from amkit.errors import UserError
from amkit.experiments.sweep_summary import (  # noqa: F401  (re-exported)
    COMPARED_METRIC,
    METRICS,
    default_metric,
    mean_std_ci,
    paired_test,
    parse_metric,
    render_markdown,
    run_metrics,
    summarize,
    write_summary,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepRun:
    """One training of the sweep: its variant's settings and its seed."""

    variant: str
    settings: tuple[tuple[str, str], ...]  # (dotted key, value text)
    seed: int
    run_dir: Path

    @property
    def overrides(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.settings] + [f"seed={self.seed}"]

    def all_overrides(self, common: Sequence[str]) -> list[str]:
        """The sweep's ``common`` overrides, then this run's, ``{seed}`` filled in."""
        return [o.replace("{seed}", str(self.seed)) for o in [*common, *self.overrides]]


def parse_grid(entries: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["model.hops=1,2,3", ...]`` -> ``[("model.hops", ["1", "2", "3"]), ...]``."""
    grid = []
    for entry in entries:
        key, sep, values = entry.partition("=")
        if not sep or not key or not values:
            raise UserError(f"--grid {entry!r}: expected KEY=V1,V2,... (e.g. model.hops=1,2,3)")
        parse_override(f"{key}=0")  # validates the key the same way --set does
        items = [v.strip() for v in values.split(",")]
        if any(not v for v in items) or len(set(items)) != len(items):
            raise UserError(f"--grid {entry!r}: values must be non-empty and distinct")
        if key in (k for k, _ in grid):
            raise UserError(f"--grid {key}: given twice; list all its values in one --grid")
        grid.append((key, items))
    return grid


def parse_variants(entries: Sequence[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``["full:", "no_memory:model.memory=none,model.hops=1"]`` -> named override sets (an
    ablation is a list of variants, not a grid)."""
    variants = []
    for entry in entries:
        name, sep, rest = entry.partition(":")
        if not sep or not name or any(not (c.isalnum() or c in "_-.=") for c in name):
            raise UserError(
                f"--variant {entry!r}: expected NAME:KEY=VALUE,... (NAME: letters, digits, _-.)"
            )
        settings = []
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise UserError(f"--variant {entry!r}: {item!r} is not KEY=VALUE")
            parse_override(item.replace("{seed}", "0"))  # checked as for seed 0
            settings.append((key, value))
        if name in (n for n, _ in variants):
            raise UserError(f"--variant {name}: given twice")
        variants.append((name, settings))
    return variants


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise UserError(f"--seeds {text!r}: expected integers separated by commas") from None
    if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise UserError(f"--seeds {text!r}: seeds must be distinct and >= 0")
    return seeds


def _variant_name(settings: Sequence[tuple[str, str]]) -> str:
    if not settings:
        return "default"
    name = ",".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in settings)
    return "".join(c if c.isalnum() or c in "=,._-" else "_" for c in name)


def plan(
    grid: Sequence[tuple[str, list[str]]],
    seeds: Sequence[int],
    out: Path,
    variants: Sequence[tuple[str, list[tuple[str, str]]]] = (),
) -> list[SweepRun]:
    """Every grid combination (or every named variant) x seed, in a stable order (variants
    first, then seeds)."""
    if grid and variants:
        raise UserError("give either --grid or --variant, not both")
    if variants:
        named = [(name, tuple(settings)) for name, settings in variants]
    else:
        keys = [key for key, _ in grid]
        combos = itertools.product(*(values for _, values in grid))
        named = []
        for values in combos:
            settings = tuple(zip(keys, values, strict=True))
            named.append((_variant_name(settings), settings))
    runs = [
        SweepRun(name, settings, s, out / name / f"seed{s}")
        for name, settings in named
        for s in seeds
    ]
    if len({r.variant for r in runs}) * len(seeds) != len(runs):
        raise UserError("two grid combinations give the same directory name; rename the values")
    return runs


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the sweep process dies, so a killed sweep
    leaves no orphan training a run directory that the resumed sweep would train too."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _train_one(
    config: str | Path | Mapping, run: SweepRun, overrides: list[str], threads: int
) -> dict:
    """Worker process: train (or resume) one run; returns its metrics."""
    import torch

    import amkit

    torch.set_num_threads(threads)
    from amkit.train.checkpoint import has_checkpoint

    resume = has_checkpoint(run.run_dir)
    if resume:
        result = amkit.run(None, run_dir=run.run_dir, resume=True)
    else:
        result = amkit.run(config, run_dir=run.run_dir, overrides=run.all_overrides(overrides))
    return {**result.metrics, "timings": result.timings}


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A Ray address (``host:port`` or ``ray://host:port``) must accept a connection within
    ``timeout_s``; Ray itself retries for minutes before it gives up."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--ray-address {address}: expected HOST:PORT (e.g. 10.0.0.1:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise UserError(
            f"--ray-address {address}: cannot start or join Ray (no answer: {error}); start "
            "the cluster with `ray start --head`, or leave --ray-address out for a local Ray"
        ) from None


@contextmanager
def _executor(
    backend: str, workers: int, threads: int, ray_address: str | None, gpus_per_run: float
):
    """``submit(fn, *args) -> concurrent.futures.Future`` for the sweep's runs, on a local
    process pool or as Ray tasks."""
    if backend == "local":
        if ray_address is not None or gpus_per_run:
            raise UserError("--ray-address and --gpus-per-run need --backend ray")
        context = multiprocessing.get_context("spawn")  # a clean torch in every worker
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            yield pool.submit
        return
    if backend != "ray":
        raise UserError(f"--backend: {backend!r} is not a backend; use local or ray")
    try:
        import ray
    except ModuleNotFoundError:
        raise UserError("--backend ray needs Ray: pip install 'amkit[ray]'") from None
    if ray_address not in (None, "auto", "local"):
        _check_reachable(ray_address)
    started_here = not ray.is_initialized()
    if started_here:
        try:  # a local Ray gets the CPUs of ``workers`` runs; a cluster has its own
            ray.init(
                address=ray_address,
                num_cpus=None if ray_address else workers * threads,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        except (Exception, SystemExit) as error:  # Ray exits when it cannot connect
            where = f"--ray-address {ray_address}" if ray_address else "a local Ray"
            raise UserError(f"{where}: cannot start or join Ray ({error})") from None
    remote = ray.remote(num_cpus=threads, num_gpus=gpus_per_run, max_retries=0)(_train_one)
    try:
        yield lambda fn, *args: remote.remote(*args).future()
    finally:
        if started_here:
            ray.shutdown()


def run_sweep(
    config: str | Path | Mapping,
    out: str | Path,
    seeds: Sequence[int] = (0,),
    grid: Sequence[tuple[str, list[str]]] = (),
    variants: Sequence[tuple[str, list[tuple[str, str]]]] = (),
    workers: int = 1,
    overrides: Sequence[str] = (),
    threads: int | None = None,
    command: str = "",
    on_event=print,
    metric: str | None = None,
    backend: str = "local",
    ray_address: str | None = None,
    gpus_per_run: float = 0.0,
) -> dict[str, Any]:
    """Train every combination not yet finished, then write the summary files; ``metric``
    (default: the test value of the config's ``train.monitor``) is the one compared.

    ``backend``: ``local`` (a pool of ``workers`` processes on this machine) or ``ray``
    (each run a Ray task with ``threads`` CPUs and ``gpus_per_run`` GPUs; ``ray_address``
    joins an existing cluster, whose machines share the sweep folder; without it a local
    Ray starts and stops with the sweep). Both give the same run directories and numbers."""
    out = Path(out)
    runs = plan(grid, seeds, out, variants)
    if workers < 1:
        raise UserError(f"--workers: expected >= 1, got {workers}")
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    from amkit.experiments.run import load_config

    for run in runs:  # every combination's config is checked before anything trains
        resolved = load_config(config, run.all_overrides(overrides))
    metric = metric or default_metric(resolved.train.monitor)
    parse_metric(metric)
    out.mkdir(parents=True, exist_ok=True)
    todo = [r for r in runs if run_metrics(r.run_dir, metric) is None]
    on_event(
        f"{len(runs)} runs ({len(runs) // len(seeds)} variants x {len(seeds)} seeds): "
        f"{len(runs) - len(todo)} finished, {len(todo)} to train with {workers} workers x "
        f"{threads} threads"
    )
    failed: dict[Path, str] = {}
    with _executor(backend, workers, threads, ray_address, gpus_per_run) as submit:
        started = {}
        pending = set()
        for run in todo:
            future = submit(_train_one, config, run, list(overrides), threads)
            started[future] = (run, time.perf_counter())
            pending.add(future)
        finished = len(runs) - len(todo)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                run, t0 = started[future]
                finished += 1
                tag = f"[{finished}/{len(runs)}] {run.variant} seed {run.seed}"
                error = future.exception()
                if error is not None:
                    failed[run.run_dir] = f"{type(error).__name__}: {error}"
                    on_event(f"{tag}: FAILED ({failed[run.run_dir]})")
                else:
                    split, key = parse_metric(metric)
                    value = future.result().get(split, {}).get(key)
                    shown = f"{metric} {value:.4f}" if value is not None else "done"
                    on_event(f"{tag}: {shown} ({time.perf_counter() - t0:.0f} s)")
                write_summary(out, runs, failed, command, metric)
    return write_summary(out, runs, failed, command, metric)
