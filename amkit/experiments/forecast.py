"""Forecasting new data with a trained run: ``amkit forecast RUN --input FILE.csv``.

The run's model reads the last ``lookback`` rows of the file (the run's columns, read and
checked as its training data was), scaled with the training statistics saved in the run
(``data_info.json``); the forecast is un-scaled back to the file's units. Future timestamps
continue the file's step (the last two rows' difference). Nothing of the training data is
needed.

Legend: L lookback, H horizon, C channels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from amkit.data.timeseries import read_series
from amkit.errors import UserError
from amkit.experiments.loading import LoadedRun, load
from amkit.io import atomic_write_text
from amkit.train.device import model_device

__all__ = ["Forecast", "forecast_file", "write_forecast_csv"]


@dataclass
class Forecast:
    """A forecast of new data, in the data's own units.

    Attributes:
        columns: the C channel names.
        history: ``(L, C)`` the rows the model read.
        history_dates: their L timestamps.
        values: ``(H, C)`` the forecast.
        dates: its H timestamps.
        date_column: the name of the date column.
        model_seconds: the model's time for this one window.
    """

    columns: list[str]
    history: np.ndarray
    history_dates: list[str]
    values: np.ndarray
    dates: list[str]
    date_column: str
    model_seconds: float


def _future_dates(dates: list[str], horizon: int) -> list[str]:
    if len(dates) < 2:
        return [f"t+{i + 1}" for i in range(horizon)]
    last, before = datetime.fromisoformat(dates[-1]), datetime.fromisoformat(dates[-2])
    step = last - before
    return [(last + step * (i + 1)).isoformat(sep=" ") for i in range(horizon)]


def _check_run(run: LoadedRun) -> None:
    if run.info.task != "forecasting":
        raise UserError(
            f"{run.run_dir} is a {run.info.task} run; amkit forecast needs a forecasting run "
            "(data.name timeseries)"
        )


@torch.no_grad()
def forecast_file(
    run_dir: str | Path | LoadedRun, path: str | Path, horizon: int | None = None
) -> Forecast:
    """Forecast the rows that follow ``path`` with the run in ``run_dir``.

    Args:
        run_dir: a forecasting run directory (or a run already loaded with :func:`load`).
        path: a CSV with the run's date column and value columns, at least ``lookback`` rows.
        horizon: steps to forecast, at most the run's horizon (default: all of it).

    Raises:
        UserError: not a forecasting run, ``--horizon`` longer than trained, the file too
            short or malformed (the message names the file and line).
    """
    run = run_dir if isinstance(run_dir, LoadedRun) else load(run_dir)
    _check_run(run)
    info, data = run.info, run.config.data.config
    trained = int(info.horizon)
    horizon = trained if horizon is None else horizon
    if not 1 <= horizon <= trained:
        raise UserError(
            f"--horizon {horizon}: the run forecasts 1 to {trained} steps (data.horizon it was "
            "trained with); train a run with a longer horizon for more"
        )
    series = read_series(path, data.date_column, list(info.channel_names), data.freq)
    lookback = int(info.lookback)
    if len(series) < lookback:
        raise UserError(
            f"{path}: {len(series)} rows, the run reads the last {lookback} (data.lookback); "
            "give --input more history"
        )
    mean, std = np.asarray(info.scaler_mean), np.asarray(info.scaler_std)
    history = series.values[-lookback:]
    x = torch.as_tensor((history - mean) / std, dtype=torch.float32).unsqueeze(0)  # (1, L, C)
    model = run.model.eval()
    x = x.to(model_device(model))
    model(x=x)  # a warm-up: one-off set-up (a memory store built) is not the model's time
    started = time.perf_counter()
    out = model(x=x)
    seconds = time.perf_counter() - started
    scaled = out.forecast[0, :horizon].double().cpu().numpy()  # (H, C)
    return Forecast(
        columns=list(series.columns),
        history=history,
        history_dates=series.dates[-lookback:],
        values=scaled * std + mean,
        dates=_future_dates(series.dates, horizon),
        date_column=data.date_column,
        model_seconds=seconds,
    )


def write_forecast_csv(forecast: Forecast, path: str | Path) -> Path:
    """Write ``date,<channels>`` rows of the forecast, atomically."""
    lines = [",".join([forecast.date_column, *forecast.columns])]
    for date, row in zip(forecast.dates, forecast.values, strict=True):
        lines.append(",".join([date, *(f"{v:.6g}" for v in row)]))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return Path(path)
