"""The examples of a run, paged and searched on the server (``predictions.jsonl``).

The file is read once per version (its size and modification time) and kept with each
row's lower-cased input for search; a page is a filter over those rows, never the whole
file sent to the browser.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from amkit.experiments.predictions import PREDICTIONS_FILE

__all__ = ["ExamplePage", "PredictionStore", "page_examples"]

MAX_PAGE = 200
MAX_LABELS = 100  # more distinct labels than this (translations' references) get no filter


@dataclass
class _Loaded:
    """One version of a predictions file: its rows, and per row the lower-cased input and
    the filterable columns as arrays (a filter is a vectorized mask, not a loop over dicts)."""

    stamp: tuple[int, int]
    rows: list[dict[str, Any]]
    lowered: list[str]
    skipped: int
    splits: list[str]
    tasks: list[int]
    labels: list[str]
    split_col: np.ndarray = field(default_factory=lambda: np.array([]))
    task_col: np.ndarray = field(default_factory=lambda: np.array([]))
    label_col: np.ndarray = field(default_factory=lambda: np.array([]))
    correct_col: np.ndarray = field(default_factory=lambda: np.array([]))

    def __post_init__(self) -> None:
        rows = self.rows
        self.split_col = np.array([str(r.get("split")) for r in rows], dtype=object)
        self.task_col = np.array(
            [r["task"] if isinstance(r.get("task"), int) else -1 for r in rows], dtype=np.int64
        )
        self.label_col = np.array([str(r.get("label")) for r in rows], dtype=object)
        self.correct_col = np.array([r.get("correct") is True for r in rows], dtype=bool)
        self.by_key = {(str(r.get("split")), r.get("id")): i for i, r in enumerate(rows)}

    def find(self, split: str, number: int) -> dict[str, Any] | None:
        """The row of example ``number`` of ``split``, or None."""
        i = self.by_key.get((split, number))
        return None if i is None else self.rows[i]


class PredictionStore:
    """``predictions.jsonl`` of each run, read once per version of the file."""

    def __init__(self) -> None:
        self._cache: dict[Path, _Loaded] = {}
        self._lock = threading.Lock()

    def rows(self, run_dir: Path) -> _Loaded | None:
        """The parsed rows of ``run_dir``'s predictions, or None when it has none."""
        path = run_dir / PREDICTIONS_FILE
        try:
            stat = path.stat()
        except OSError:
            return None
        stamp = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and cached.stamp == stamp:
                return cached
            rows, skipped = [], 0
            with path.open(encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    try:
                        row = json.loads(line)
                        if not isinstance(row, dict):
                            raise ValueError
                    except ValueError:
                        skipped += line.strip() != ""
                        continue
                    rows.append(row)
            lowered = [str(r.get("input", "")).lower() for r in rows]
            splits = sorted({str(r.get("split")) for r in rows})
            tasks = sorted({r["task"] for r in rows if isinstance(r.get("task"), int)})
            labels = sorted({str(r.get("label")) for r in rows})
            labels = labels if len(labels) <= MAX_LABELS else []  # free text: no filter
            loaded = _Loaded(stamp, rows, lowered, skipped, splits, tasks, labels)
            self._cache[path] = loaded
            return loaded


@dataclass
class ExamplePage:
    """One page of examples: ``rows`` from ``offset``, ``total`` matching the filters, and
    the values the filters can take (splits, tasks, labels)."""

    total: int
    offset: int
    rows: list[dict[str, Any]]
    splits: list[str]
    tasks: list[int]
    labels: list[str]
    skipped: int


def page_examples(
    loaded: _Loaded,
    split: str | None = None,
    query: str = "",
    task: int | None = None,
    label: str | None = None,
    correct: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> ExamplePage:
    """The examples matching every filter given (``query``: a case-insensitive substring
    of the input), ``limit`` (at most :data:`MAX_PAGE`) of them from ``offset``."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    mask = np.ones(len(loaded.rows), dtype=bool)
    if split:
        mask &= loaded.split_col == split
    if task is not None:
        mask &= loaded.task_col == task
    if label is not None:
        mask &= loaded.label_col == label
    if correct is not None:
        mask &= loaded.correct_col == correct
    chosen = np.flatnonzero(mask).tolist()
    needle = query.lower().strip()
    if needle:
        lowered = loaded.lowered
        chosen = [i for i in chosen if needle in lowered[i]]
    total = len(chosen)
    matched = [loaded.rows[i] for i in chosen[offset : offset + limit]]
    return ExamplePage(
        total, offset, matched, loaded.splits, loaded.tasks, loaded.labels, loaded.skipped
    )
