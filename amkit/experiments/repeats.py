"""Best of N seeds: ``amkit train --repeats N`` and :func:`run_repeats`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from amkit.errors import UserError
from amkit.experiments.experiment import ExperimentConfig, load_config
from amkit.experiments.loading import INFO_FILE
from amkit.experiments.run import RunResult, _check_same_config, load_run, run
from amkit.io import atomic_copy, atomic_write_json
from amkit.textfile import read_json
from amkit.train.checkpoint import has_checkpoint

__all__ = ["run_repeats"]

log = logging.getLogger("amkit")


def run_repeats(
    config: str | Path | Mapping[str, Any] | ExperimentConfig,
    run_dir: str | Path,
    repeats: int,
    overrides: Iterable[str] = (),
    on_epoch_end: list[Callable[[int, dict], None]] | None = None,
) -> RunResult:
    """Train ``repeats`` runs (seeds ``seed``, ``seed+1``, ...) and keep the best on validation.

    As Sukhbaatar et al. (2015) did, who repeated each training 10 times and kept the best
    (amkit picks on *validation* accuracy, never on test). Each repeat is a complete run
    directory ``RUN_DIR/repeat-<i>``, resumable on its own: a finished repeat is skipped
    when the command runs again. ``RUN_DIR`` itself gets the chosen repeat's ``config.yaml``
    and ``model.safetensors`` (so ``amkit evaluate RUN_DIR`` works) and a ``metrics.json``
    listing every repeat.
    """
    if repeats < 1:
        raise UserError(f"repeats must be >= 1, got {repeats}")
    base = load_config(config, overrides)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    summaries: list[dict[str, Any]] = []
    for i in range(repeats):
        seeded = load_config(base, [f"seed={base.seed + i}"])
        sub = run_dir / f"repeat-{i}"
        if (sub / "config.yaml").is_file():
            _check_same_config(sub, seeded)
        if (sub / "metrics.json").is_file():
            log.info("repeat %d already finished in %s", i, sub)
        else:
            resume = has_checkpoint(sub)
            run(None if resume else seeded, run_dir=sub, resume=resume, on_epoch_end=on_epoch_end)
        summary = read_json(sub / "metrics.json", fix=f"delete {sub} to train it again")
        summaries.append({"repeat": i, "seed": seeded.seed, "run_dir": str(sub), **summary})
    if "mse" in summaries[0]["val"]:  # forecasters: the lowest validation MSE
        chosen = min(range(repeats), key=lambda i: summaries[i]["val"]["mse"])
    else:
        chosen = max(range(repeats), key=lambda i: summaries[i]["val"]["accuracy"])
    best_dir = run_dir / f"repeat-{chosen}"
    cfg, model, data = load_run(best_dir)
    # the chosen repeat's model, config and data files (a text model's vocabulary)
    for name in ["model.safetensors", "config.yaml", INFO_FILE, *data.files]:
        atomic_copy(best_dir / name, run_dir / name)
    train_seconds = sum(r["timings"]["train_seconds"] for r in summaries)
    atomic_write_json(
        run_dir / "metrics.json",
        {
            "selected_repeat": chosen,
            "selection": "lowest validation MSE"
            if "mse" in summaries[0]["val"]
            else "best validation accuracy",
            "val": summaries[chosen]["val"],
            "test": summaries[chosen]["test"],
            "repeats": summaries,
            "timings": {
                "total_seconds": round(time.perf_counter() - started, 3),
                "train_seconds_all_repeats": round(train_seconds, 3),
            },
        },
    )
    return RunResult(
        model=model,
        data=data,
        metrics={k: summaries[chosen][k] for k in ("val", "test")},
        history=[],
        timings=summaries[chosen]["timings"],
        seed=cfg.seed,
        config=cfg.to_dict(),
        run_dir=best_dir,
    )
