"""The time-series reader, the split / window protocol, the scaling and the forecast metrics,
on small synthetic series (never rows of a real dataset)."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta

import numpy as np
import pytest
import torch

from amkit.data.base import DataInfo
from amkit.data.forecasting import TimeSeriesConfig, build_timeseries, scale_series
from amkit.data.timeseries import parse_freq, read_series
from amkit.errors import UserError
from amkit.train.forecasting import evaluate_forecasts, forecast_errors


def write_series(path, values, columns=("a", "b", "OT"), start=datetime(2020, 1, 1), gz=False):
    """A CSV ``date,<columns>`` of hourly rows; ``values (T, C)``."""
    lines = ["date," + ",".join(columns)]
    for i, row in enumerate(values):
        stamp = (start + timedelta(hours=i)).isoformat(sep=" ")
        lines.append(stamp + "," + ",".join(f"{v:.6f}" for v in row))
    text = "\n".join(lines) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def ramp(n: int, c: int = 3) -> np.ndarray:
    """Row t, channel j holds ``t + 1000 j``: a value says where it came from."""
    return np.arange(n)[:, None] + 1000.0 * np.arange(c)[None, :]


def test_reads_plain_and_gzip_with_column_options(tmp_path):
    plain = read_series(write_series(tmp_path / "s.csv", ramp(5)))
    packed = read_series(write_series(tmp_path / "s.csv.gz", ramp(5), gz=True))
    assert plain.columns == ["a", "b", "OT"] and plain.values.shape == (5, 3)
    np.testing.assert_array_equal(plain.values, packed.values)
    chosen = read_series(tmp_path / "s.csv", columns=["OT", "a"], freq="h")
    np.testing.assert_array_equal(chosen.values, ramp(5)[:, [2, 0]])
    assert parse_freq("15min") == timedelta(minutes=15)


BAD = {  # what is wrong -> (the file's lines after the header, the 1-based line named, words)
    "missing value": (["2020-01-01 00:00:00,1,2", "2020-01-01 01:00:00,,2"], 3, "missing"),
    "NA value": (["2020-01-01 00:00:00,1,NA"], 2, "missing"),
    "not a number": (["2020-01-01 00:00:00,1,2", "2020-01-01 01:00:00,x1,2"], 3, "not a number"),
    "unsorted": (["2020-01-01 01:00:00,1,2", "2020-01-01 00:00:00,1,2"], 3, "earlier"),
    "duplicated": (["2020-01-01 01:00:00,1,2", "2020-01-01 01:00:00,1,2"], 3, "duplicated"),
    "bad date": (["2020-01-01 00:00:00,1,2", "yesterday,1,2"], 3, "not a date"),
    "field count": (["2020-01-01 00:00:00,1,2", "2020-01-01 01:00:00,1"], 3, "fields"),
    "gap": (["2020-01-01 00:00:00,1,2", "2020-01-01 03:00:00,1,2"], 3, "freq"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_files_name_the_file_and_line(tmp_path, case):
    rows, line, words = BAD[case]
    path = tmp_path / "bad.csv"
    path.write_text("date,a,b\n" + "\n".join(rows) + "\n")
    with pytest.raises(UserError, match=rf"bad\.csv:{line}: .*{words}"):
        read_series(path, freq="h")


def test_bad_options_are_named(tmp_path):
    path = write_series(tmp_path / "s.csv", ramp(5))
    with pytest.raises(UserError, match=r"s\.csv:1: date_column 'time'"):
        read_series(path, date_column="time")
    with pytest.raises(UserError, match=r"s\.csv: columns \['zz'\]"):
        read_series(path, columns=["a", "zz"])
    with pytest.raises(UserError, match="freq: 'fortnightly'"):
        read_series(path, freq="fortnightly")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserError, match=r"empty\.csv: empty file"):
        read_series(empty)


def test_too_few_rows_for_lookback_and_horizon_name_the_options(tmp_path):
    path = write_series(tmp_path / "short.csv", ramp(40))
    # 28 / 4 / 8 rows: the 4 validation rows cannot hold a horizon of 6
    config = TimeSeriesConfig(path=str(path), split="ratio", lookback=8, horizon=6)
    with pytest.raises(
        UserError, match=r"short\.csv: the val split .*lookback 8 \+ data\.horizon 6"
    ):
        build_timeseries(config, 0)
    with pytest.raises(UserError, match="needs 14400 rows"):
        build_timeseries(TimeSeriesConfig(path=str(path), split="ett"), 0)


def test_ett_split_windows_start_lookback_rows_early(tmp_path):
    # ett at 1 row a day: 12/4/4 months of 30 days = 360 / 120 / 120 rows
    n, lookback, horizon = 620, 16, 5
    path = write_series(tmp_path / "s.csv", ramp(n))
    config = TimeSeriesConfig(path=str(path), split="ett", rows_per_day=1, lookback=lookback,
                              horizon=horizon, scale=False)  # fmt: skip
    data = build_timeseries(config, 0)
    train, val, test = (data.split(s) for s in ("train", "val", "test"))
    assert len(train) == 360 - lookback - horizon + 1
    assert len(val) == 120 - horizon + 1 and len(test) == 120 - horizon + 1
    first = val[0]
    assert first["x"][0, 0] == 360 - lookback and first["targets"][0, 0] == 360
    last = test[len(test) - 1]
    assert last["targets"][-1, 0] == 599  # the test split's last row, 480 + 120 - 1
    assert first["x"].shape == (lookback, 3) and first["targets"].shape == (horizon, 3)
    # every window is consecutive rows, each channel its own column
    batch = test[torch.arange(3)]
    assert batch["x"].shape == (3, lookback, 3)
    np.testing.assert_array_equal(batch["x"][:, :, 1] - batch["x"][:, :, 0], 1000.0)
    assert data.info.task == "forecasting" and data.info.channel_names == ["a", "b", "OT"]


def test_scaling_uses_the_training_rows_only(tmp_path):
    values = np.random.default_rng(0).normal(size=(200, 3))
    values[140:] += 50.0  # a shift after the training rows must not move the scaler
    path = write_series(tmp_path / "s.csv", values)
    config = TimeSeriesConfig(path=str(path), split="ratio", lookback=8, horizon=4)
    data = build_timeseries(config, 0)
    n_train = int(200 * 0.7)
    np.testing.assert_allclose(data.info.scaler_mean, values[:n_train].mean(0), atol=1e-5)
    np.testing.assert_allclose(data.info.scaler_std, values[:n_train].std(0), atol=1e-5)
    scaled, _, _ = scale_series(values, n_train)
    window = data.split("train")[0]["x"].numpy()
    np.testing.assert_allclose(window, scaled[:8], atol=1e-5)
    assert json_round_trip(data.info).scaler_std == data.info.scaler_std


def json_round_trip(info: DataInfo) -> DataInfo:
    import json

    return DataInfo.from_json(json.loads(json.dumps(info.to_json())))


def test_metrics_by_hand_over_windows_steps_and_channels():
    forecast = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 1.0]]])  # (2, 2, 2)
    targets = torch.tensor([[[1.0, 0.0], [0.0, 4.0]], [[1.0, 0.0], [0.0, 0.0]]])
    # errors: 0, 2, 3, 0 | -1, 0, 0, 1 -> squares 0+4+9+0+1+0+0+1 = 15, |.| 2+3+1+1 = 7
    assert forecast_errors(forecast, targets) == {"mse": 15 / 8, "mae": 7 / 8, "n": 2}


class _Fixed(torch.nn.Module):
    """A forecaster that returns each window's first input row, H times."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x, targets=None, start=None, need_weights=False):
        from amkit.models.timeseries.common import forecast_output

        return forecast_output(x[:, :1].expand(-1, 4, -1) + self.dummy, targets)


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
def test_evaluation_scores_every_window_whatever_the_batch(tmp_path, batch_size):
    values = np.random.default_rng(1).normal(size=(100, 2))
    path = write_series(tmp_path / "s.csv", values, columns=("a", "OT"))
    config = TimeSeriesConfig(path=str(path), split="ratio", lookback=6, horizon=4)
    test = build_timeseries(config, 0).split("test")
    got = evaluate_forecasts(_Fixed(), test, batch_size)
    every = test[torch.arange(len(test))]
    expected = forecast_errors(every["x"][:, :1].expand(-1, 4, -1), every["targets"])
    assert got["n"] == len(test) == 20 - 4 + 1
    assert got["mse"] == pytest.approx(expected["mse"], rel=1e-6)
    assert got["mae"] == pytest.approx(expected["mae"], rel=1e-6)
