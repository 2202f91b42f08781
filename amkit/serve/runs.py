"""The runs ``amkit serve`` shows: found under the folders it was given, read from their files.

A run directory is a folder with a ``config.yaml``; a sweep folder one with a ``summary.json``.
Each gets a short id (a hash of its resolved path), and the server looks ids up in the
:class:`RunIndex` only: no path a browser sends is ever joined to a folder, except a file
name inside a known run, which :func:`safe_file` checks stays inside it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from amkit.errors import UserError

__all__ = ["RunIndex", "curves", "run_summary", "safe_file", "sweep_summary"]

# folders never searched for runs (a run's own checkpoints, hidden folders)
_SKIP = {"__pycache__", "plots", "node_modules"}
MAX_DEPTH = 4  # a runs folder, a sweep, its variant, its seed


@dataclass(frozen=True)
class RunRef:
    """A run or sweep found on disk: ``id`` (stable, URL-safe), ``name`` (its path relative
    to the folder it was found under), ``path`` (resolved) and ``kind`` (run or sweep)."""

    id: str
    name: str
    path: Path
    kind: str


def _id(path: Path) -> str:
    return hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:12]


class RunIndex:
    """The runs and sweeps under ``roots`` (each a run directory or a folder of them),
    rescanned on :meth:`scan`."""

    def __init__(self, roots: list[str | Path]):
        self.roots = [Path(r).resolve() for r in roots]
        for root in self.roots:
            if not root.is_dir():
                raise UserError(f"amkit serve: {root} is not a folder (give run directories "
                                "or folders of runs)")  # fmt: skip
        self.refs: dict[str, RunRef] = {}
        self.scan()

    def scan(self) -> list[RunRef]:
        """Walk the roots (to :data:`MAX_DEPTH` levels) and return every run and sweep."""
        found: dict[str, RunRef] = {}
        for root in self.roots:
            base = root.parent if (root / "config.yaml").is_file() else root
            for folder, subdirs, files in os.walk(root):
                here = Path(folder)
                depth = len(here.relative_to(root).parts)
                subdirs[:] = sorted(d for d in subdirs if d not in _SKIP and not d.startswith("."))
                if depth >= MAX_DEPTH:
                    subdirs[:] = []
                kind = "run" if "config.yaml" in files else None
                kind = "sweep" if "summary.json" in files and kind is None else kind
                if kind is None:
                    continue
                name = here.relative_to(base).as_posix() or here.name
                ref = RunRef(_id(here), name, here, kind)
                found[ref.id] = ref
                if kind == "run":
                    subdirs[:] = []  # a run's subfolders are its own files
        self.refs = found
        return list(found.values())

    def get(self, run_id: str, kind: str = "run") -> RunRef:
        """The run (or sweep) ``run_id``; a :class:`KeyError` when it is not one found."""
        ref = self.refs.get(run_id)
        if ref is None:
            self.scan()  # a run that appeared since
            ref = self.refs.get(run_id)
        if ref is None or ref.kind != kind:
            raise KeyError(run_id)
        return ref


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def run_summary(ref: RunRef) -> dict[str, Any]:
    """What the runs table shows of one run: model, task, data, status, key metrics, date.

    A run that is half-written (no ``metrics.json`` yet), older (no ``data_info.json``) or
    has an unreadable file gets a ``problem`` message instead of failing."""
    path = ref.path
    out: dict[str, Any] = {"id": ref.id, "name": ref.name, "status": "finished"}
    problems = []
    try:
        config = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8")) or {}
        if not isinstance(config, dict):
            raise ValueError("not a mapping")
        out["model"] = str((config.get("model") or {}).get("name", "?"))
        out["data"] = str((config.get("data") or {}).get("name", "?"))
    except (OSError, ValueError, yaml.YAMLError, AttributeError) as error:
        problems.append(f"config.yaml cannot be read ({error})")
        out["model"] = out["data"] = "?"
    out["task"] = "?"
    info = path / "data_info.json"
    try:
        if info.is_file():
            out["task"] = str(_read_json(info).get("task", "?"))
        else:
            problems.append("no data_info.json (a run from an older amkit)")
    except (OSError, ValueError, AttributeError) as error:
        problems.append(f"data_info.json cannot be read ({error})")
    metrics_file = path / "metrics.json"
    if not metrics_file.is_file():
        out["status"] = "unfinished"
        problems.append("no metrics.json: training has not finished (or was stopped)")
    else:
        try:
            metrics = _read_json(metrics_file)
            out["metrics"] = key_metrics(metrics)
        except (OSError, ValueError, AttributeError) as error:
            out["status"] = "damaged"
            problems.append(f"metrics.json cannot be read ({error})")
    stamp = max((p.stat().st_mtime for p in path.iterdir() if p.is_file()), default=0.0)
    out["date"] = datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out["has_predictions"] = (path / "predictions.jsonl").is_file()
    out["has_curves"] = (path / "metrics.jsonl").is_file()
    if problems:
        out["problem"] = "; ".join(problems)
    return out


def key_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """``test_accuracy``, ``val_accuracy``, ... : the numbers of each split's metrics, and
    the epochs trained."""
    out = {}
    for split in ("val", "test"):
        for name, value in (metrics.get(split) or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and name != "n":
                out[f"{split}_{name}"] = round(float(value), 4)
    if isinstance(metrics.get("epochs"), int):
        out["epochs"] = metrics["epochs"]
    return out


def curves(ref: RunRef) -> dict[str, Any]:
    """Per-epoch numbers from ``metrics.jsonl``: ``{"epochs": [...], "series": {name:
    [...]}}``; lines that are not JSON objects (a run stopped while writing) are skipped and
    counted in ``skipped``."""
    path = ref.path / "metrics.jsonl"
    series: dict[str, list[float | None]] = {}
    epochs: list[int] = []
    skipped = 0
    if not path.is_file():
        return {"id": ref.id, "name": ref.name, "epochs": [], "series": {}, "skipped": 0,
                "problem": "no metrics.jsonl in this run"}  # fmt: skip
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError
        except ValueError:
            skipped += line.strip() != ""
            continue
        epochs.append(int(record.get("epoch", len(epochs) + 1)))
        for name, value in record.items():
            if name == "epoch" or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            column = series.setdefault(name, [None] * (len(epochs) - 1))
            column.append(float(value))
        for column in series.values():
            column.extend([None] * (len(epochs) - len(column)))
    return {"id": ref.id, "name": ref.name, "epochs": epochs, "series": series,
            "skipped": skipped}  # fmt: skip


def sweep_summary(ref: RunRef) -> dict[str, Any]:
    """A sweep's ``summary.json``: per variant the compared metric's mean and 95% CI."""
    try:
        summary = _read_json(ref.path / "summary.json")
        metric = summary.get("compared_metric", "test_accuracy")
        variants = []
        for entry in summary.get("variants", []):
            stat = entry.get(metric) or {}
            numbers = {k: stat.get(k) for k in ("mean", "std", "ci95_low", "ci95_high")}
            variants.append(
                {"variant": str(entry.get("variant")), "seeds": entry.get("seeds"), **numbers}
            )
        return {"id": ref.id, "name": ref.name, "metric": metric, "variants": variants}
    except (OSError, ValueError, AttributeError, TypeError) as error:
        return {"id": ref.id, "name": ref.name, "metric": None, "variants": [],
                "problem": f"summary.json cannot be read ({error})"}  # fmt: skip


def safe_file(ref: RunRef, relative: str) -> Path:
    """The file ``relative`` inside run ``ref``; a :class:`PermissionError` for an absolute
    path, a ``..`` part or anything that resolves (through links) outside the run."""
    parts = relative.replace("\\", "/").split("/")
    if relative.startswith(("/", "~")) or ".." in parts or ":" in relative or not relative:
        raise PermissionError(relative)
    target = (ref.path / relative).resolve()
    if not target.is_relative_to(ref.path) or not target.is_file():
        raise PermissionError(relative)
    return target
