"""Running experiments: ``run`` (one config into a run directory), ``load_run``,
``evaluate_run``, ``run_repeats`` (best of N seeds) and ``run_sweep`` (a grid x seeds)."""

from amkit.experiments.experiment import ExperimentConfig, load_config
from amkit.experiments.repeats import run_repeats
from amkit.experiments.run import RunResult, evaluate_run, load_run, run
from amkit.experiments.sweep import run_sweep

__all__ = [
    "ExperimentConfig",
    "RunResult",
    "evaluate_run",
    "load_config",
    "load_run",
    "run",
    "run_repeats",
    "run_sweep",
]
