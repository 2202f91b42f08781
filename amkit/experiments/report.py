"""What every generated results page shares."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any


def mean_std(values: list[float]) -> dict[str, float | None]:
    """``{"mean", "std"}`` rounded to 4 places; ``std`` is ``None`` for one value."""
    return {
        "mean": round(statistics.fmean(values), 4),
        "std": round(statistics.stdev(values), 4) if len(values) > 1 else None,
    }


def finished_metrics(run_dir: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` of a finished run that has test metrics, or a clear error."""
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a finished run (no metrics.json)")
    metrics = json.loads(path.read_text(encoding="utf-8"))
    if "test" not in metrics:
        raise ValueError(f"{path}: no test metrics")
    return metrics


def finish_page(lines: list[str], results: dict[str, Any]) -> str:
    """The page text: ``lines``, then the JSON twin's ``notes`` (if any) under "Notes"."""
    if results.get("notes"):
        lines = [*lines, "", "## Notes", "", *results["notes"]]
    return "\n".join(lines) + "\n"
