"""End to end on a synthetic series: ``amkit train`` (a forecaster, a baseline), ``amkit
forecast`` (CSV, PNG, the run's scaling, its errors), ``amkit explain``, and save -> load ->
the same forecast."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

import amkit
from amkit.cli import main
from amkit.experiments.forecast import forecast_file
from tests.test_timeseries_data import write_series


def _series(n: int) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(0)
    a = 10 + 3 * np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(n)
    return np.stack([a, 0.5 * a + np.cos(2 * np.pi * t / 12), 100 + t / 20], 1)


def _config(tmp_path, model: dict, epochs: int = 1):
    path = write_series(tmp_path / "series.csv", _series(300))
    config = {
        "seed": 0,
        "data": {"name": "timeseries", "path": str(path), "lookback": 32, "horizon": 8,
                 "split": "ratio", "freq": "h"},
        "model": model,
        "train": {"epochs": epochs, "batch_size": 16, "lr": 0.001, "monitor": "val_mse",
                  "mode": "min", "progress": False},
    }  # fmt: skip
    file = tmp_path / "config.yaml"
    file.write_text(yaml.safe_dump(config))
    return file


@pytest.fixture(scope="module")
def memory_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("memory")
    config = _config(tmp, {"name": "memory_forecaster", "base": "patchtst", "k": 3,
                           "key_length": 16})  # fmt: skip
    assert main(["train", str(config), "--out", str(tmp / "run")]) == 0
    return tmp / "run"


def test_train_writes_test_mse_and_mae(memory_run, capsys):
    metrics = json.loads((memory_run / "metrics.json").read_text())
    assert metrics["test"]["n"] == int(300 * 0.2) - 8 + 1
    assert metrics["test"]["mse"] > 0 and metrics["test"]["mae"] > 0
    info = json.loads((memory_run / "data_info.json").read_text())
    assert info["task"] == "forecasting" and len(info["scaler_mean"]) == 3


def test_forecast_writes_unscaled_csv_and_plot(memory_run, tmp_path, capsys):
    recent = write_series(tmp_path / "recent.csv", _series(300)[-50:])
    out, png = tmp_path / "next.csv", tmp_path / "next.png"
    assert main(["forecast", str(memory_run), "--input", str(recent), "--out", str(out),
                 "--plot", str(png)]) == 0  # fmt: skip
    lines = out.read_text().splitlines()
    assert lines[0] == "date,a,b,OT" and len(lines) == 1 + 8
    assert lines[1].startswith("2020-01-03 02:00:00,")  # the row after the input's last
    values = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    assert 90 < values[:, 2].mean() < 130  # the input's units (the OT ramp is near 112)
    assert png.stat().st_size > 0
    # the same as the model on the saved scaling, by hand
    run = amkit.load(memory_run)
    mean, std = np.array(run.info.scaler_mean), np.array(run.info.scaler_std)
    x = torch.tensor((_series(300)[-32:] - mean) / std, dtype=torch.float32)[None]
    with torch.no_grad():
        expected = run.model(x=x).forecast[0].double().numpy() * std + mean
    np.testing.assert_allclose(values, expected, rtol=1e-4)
    assert main(["forecast", str(memory_run), "--input", str(recent), "--out", str(out),
                 "--horizon", "3"]) == 0  # fmt: skip
    assert len(out.read_text().splitlines()) == 1 + 3


def test_forecast_errors_name_the_option_or_file(memory_run, tmp_path, capsys):
    recent = write_series(tmp_path / "recent.csv", _series(50))
    out = tmp_path / "next.csv"
    assert main(["forecast", str(memory_run), "--input", str(recent), "--out", str(out),
                 "--horizon", "9"]) == 2  # fmt: skip
    assert "--horizon 9" in capsys.readouterr().err
    short = write_series(tmp_path / "short.csv", _series(10))
    assert main(["forecast", str(memory_run), "--input", str(short), "--out", str(out)]) == 2
    assert "short.csv: 10 rows" in capsys.readouterr().err
    other = write_series(tmp_path / "other.csv", _series(50), columns=("a", "b", "c"))
    assert main(["forecast", str(memory_run), "--input", str(other), "--out", str(out)]) == 2
    assert "other.csv: columns ['OT']" in capsys.readouterr().err
    assert not out.exists()


def test_explain_draws_patches_and_retrieved_windows(memory_run, capsys):
    assert main(["explain", str(memory_run), "--example", "2"]) == 0
    text = capsys.readouterr().out
    assert "retrieved training window" in text and "patch attention" in text
    assert (memory_run / "plots" / "forecast_test2.png").is_file()
    assert (memory_run / "plots" / "patch_attention_test2.png").is_file()


def test_save_load_gives_the_same_forecast(memory_run):
    cfg_model = amkit.load(memory_run)
    from amkit.experiments.run import load_run

    _, rebuilt, data = load_run(memory_run)  # with its data, as training built it
    window = data.split("test")[torch.arange(4)]
    torch.testing.assert_close(cfg_model.model(x=window["x"]).forecast,
                               rebuilt(x=window["x"]).forecast)  # fmt: skip
    recent = memory_run.parent / "series.csv"
    first, second = forecast_file(memory_run, recent), forecast_file(cfg_model, recent)
    np.testing.assert_array_equal(first.values, second.values)


def test_a_baseline_runs_through_train_without_epochs(tmp_path, capsys):
    config = _config(tmp_path, {"name": "seasonal_naive", "period": 24})
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 0
    assert "test mse" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["parameters"] == 0
    assert main(["explain", str(tmp_path / "run")]) == 0


def test_repeats_keep_the_lowest_validation_mse(tmp_path, capsys):
    config = _config(tmp_path, {"name": "last_value"})
    assert main(["train", str(config), "--out", str(tmp_path / "runs"), "--repeats", "2"]) == 0
    metrics = json.loads((tmp_path / "runs" / "metrics.json").read_text())
    assert metrics["selection"] == "lowest validation MSE" and "mse" in metrics["test"]
