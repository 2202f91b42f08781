"""The ``timeseries`` dataset: sliding windows of a CSV series for forecasting.

The series (:func:`~amkit.data.timeseries.read_series`) is split by time into train,
validation and test rows, every column scaled with the mean and standard deviation of the
*training* rows, and cut into stride-1 windows: ``lookback`` rows in, the next ``horizon``
rows to forecast. Validation and test windows start ``lookback`` rows before their split,
so their first target is the split's first row; a split of ``n`` rows has
``n - horizon + 1`` windows (the training split ``n - lookback - horizon + 1``).

``split: ett`` is the standard ETT protocol (Zhou et al. 2021, kept by Autoformer, PatchTST,
DLinear): 12 / 4 / 4 months of 30 days, at ``rows_per_day`` rows a day (24 for ETTh1:
8,640 / 2,880 / 2,880 rows; 96 for the 15-minute ETTm files). ``split: ratio`` takes
``ratios`` of the rows (0.7 / 0.1 / 0.2, the custom-data rule of the same code bases).
``path: null`` reads ``ETTh1.csv.gz`` from the ``ett`` folder under ``AMKIT_DATA``.

Features: ``M`` all columns in, all out; ``S`` the ``target`` column alone, in and out.

Windows are made on the fly (:class:`WindowDataset`): the split holds the scaled series
once and the start row of each window.

Legend: T rows, C channels, L lookback, H horizon, B batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from amkit.config import option
from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, register_dataset
from amkit.data.locations import dataset_path
from amkit.data.timeseries import TimeSeries, parse_freq, read_series
from amkit.errors import UserError

__all__ = [
    "TimeSeriesConfig",
    "WindowDataset",
    "build_timeseries",
    "scale_series",
    "split_borders",
]


@dataclass
class TimeSeriesConfig:
    """A CSV series cut into forecasting windows; defaults: ETTh1 with PatchTST's lookback."""

    path: str | None = None  # a CSV (plain or .gz); null: ETTh1.csv.gz under AMKIT_DATA/ett
    date_column: str = "date"
    columns: list[str] | None = None  # value columns; null: all but the date column
    target: str = "OT"  # the column forecast with features S (and plotted)
    features: Literal["M", "S"] = "M"  # M: all columns -> all; S: target -> target
    freq: str | None = None  # e.g. h: every row must be one step after the one before
    lookback: int = option(336, ge=1)  # PatchTST/42 and DLinear's 336
    horizon: int = option(96, ge=1)
    split: Literal["ett", "ratio"] = "ett"
    rows_per_day: int = option(24, ge=1)  # split ett: 24 hourly, 96 for 15-minute data
    ratios: list[float] = field(default_factory=lambda: [0.7, 0.1, 0.2])  # split ratio
    scale: bool = True  # standardise with the training rows' mean and std

    def validate(self) -> list[str]:
        problems = []
        if len(self.ratios) != 3 or any(r <= 0 for r in self.ratios) or sum(self.ratios) > 1:
            problems.append(f"ratios: three positive shares summing to <= 1, got {self.ratios}")
        if self.freq:
            try:
                parse_freq(self.freq, "data.freq")
            except UserError as error:
                problems.append(str(error))
        return problems


class WindowDataset(TensorDictDataset):
    """Stride-1 windows of one series, made when a batch is drawn.

    ``ds[i]`` is ``{"x": (B, L, C), "targets": (B, H, C), "start": (B,)}``: ``start`` is
    each window's first row in the whole series (the memory forecaster uses it to skip
    windows that overlap the query). ``task`` tells the evaluation to score forecasts.

    Args:
        series: ``(T, C)`` float32, the scaled series (all splits).
        starts: ``(N,)`` int64, the first row of each window.
        lookback: L.
        horizon: H.
    """

    task = "forecasting"

    def __init__(self, series: Tensor, starts: Tensor, lookback: int, horizon: int):
        super().__init__({"start": starts.long()})
        if len(starts) and int(starts.max()) + lookback + horizon > len(series):
            raise UserError("a window runs past the end of the series")
        self.series, self.lookback, self.horizon = series, lookback, horizon

    def __getitem__(self, index: Any) -> dict[str, Tensor]:
        start = self.tensors["start"][index]
        single = start.dim() == 0
        start = start.reshape(-1)
        steps = torch.arange(self.lookback + self.horizon)
        window = self.series[start.unsqueeze(1) + steps]  # (B, L + H, C)
        rows = {
            "x": window[:, : self.lookback],
            "targets": window[:, self.lookback :],
            "start": start,
        }
        return {k: v[0] for k, v in rows.items()} if single else rows


def split_borders(n_rows: int, config: TimeSeriesConfig) -> list[int]:
    """Rows ``[0, b1)`` train, ``[b1, b2)`` validation, ``[b2, b3)`` test."""
    if config.split == "ett":
        month = 30 * config.rows_per_day
        sizes = [12 * month, 4 * month, 4 * month]
    else:
        n_train, n_test = int(n_rows * config.ratios[0]), int(n_rows * config.ratios[2])
        sizes = [n_train, n_rows - n_train - n_test, n_test]
    borders = list(np.cumsum(sizes).tolist())
    if borders[-1] > n_rows:
        raise UserError(
            f"data.split {config.split}: needs {borders[-1]} rows (train {sizes[0]}, "
            f"validation {sizes[1]}, test {sizes[2]}), the file has {n_rows}; use split: ratio "
            "or set rows_per_day"
        )
    return borders


def scale_series(values: np.ndarray, n_train: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(scaled, mean (C,), std (C,))``: every column standardised with the mean and the
    (population) std of its first ``n_train`` rows; a constant column keeps std 1."""
    train = values[:n_train]
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    return (values - mean) / std, mean, std


def _starts(begin: int, end: int, lookback: int, horizon: int) -> Tensor:
    """First rows of the windows whose rows all lie in ``[begin, end)``."""
    return torch.arange(begin, max(end - lookback - horizon + 1, begin), dtype=torch.long)


def _read(config: TimeSeriesConfig) -> TimeSeries:
    path = config.path if config.path else dataset_path("ett")
    columns = config.columns
    if config.features == "S":
        columns = [config.target]
    series = read_series(path, config.date_column, columns, config.freq)
    if config.features == "M" and config.target not in series.columns:
        raise UserError(
            f"data.target: {config.target!r} is not a value column of {series.path}; it has "
            f"{', '.join(series.columns)}"
        )
    return series


@register_dataset("timeseries", config=TimeSeriesConfig, task="forecasting")
def build_timeseries(config: TimeSeriesConfig, seed: int) -> DataBundle:
    """Splits ``train`` / ``val`` / ``test`` of :class:`WindowDataset` windows; ``info``
    holds the sizes, the channel names and the training mean / std (saved with a run, so
    ``amkit forecast`` scales new data the same way) and the scaled training rows
    (``train_series``, for the memory forecaster)."""
    series = _read(config)
    lookback, horizon = config.lookback, config.horizon
    b1, b2, b3 = split_borders(len(series), config)
    scaled, mean, std = (
        scale_series(series.values, b1)
        if config.scale
        else (series.values, np.zeros(series.values.shape[1]), np.ones(series.values.shape[1]))
    )
    tensor = torch.as_tensor(scaled, dtype=torch.float32)  # (T, C)
    ranges = {"train": (0, b1), "val": (b1 - lookback, b2), "test": (b2 - lookback, b3)}
    splits = {}
    for name, (begin, end) in ranges.items():
        starts = _starts(max(begin, 0), end, lookback, horizon)
        if len(starts) == 0:
            raise UserError(
                f"{series.path}: the {name} split (rows {begin + 1}-{end}) is too short for "
                f"data.lookback {lookback} + data.horizon {horizon}; shorten them or give "
                "more rows"
            )
        splits[name] = WindowDataset(tensor, starts, lookback, horizon)
    info = DataInfo(
        task="forecasting",
        n_classes=tensor.shape[1],
        n_channels=tensor.shape[1],
        lookback=lookback,
        horizon=horizon,
        channel_names=list(series.columns),
        scaler_mean=[float(m) for m in mean],
        scaler_std=[float(s) for s in std],
        train_rows=b1,
        train_series=tensor[:b1],
        statistics={
            "rows": len(series),
            "train_rows": b1,
            "val_rows": b2 - b1,
            "test_rows": b3 - b2,
            **{f"{k}_windows": len(v) for k, v in splits.items()},
        },
    )
    return DataBundle(splits, info)
