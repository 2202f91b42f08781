"""The classical row of the ETTh1 page: statsforecast's AutoETS (or AutoARIMA) per column.

    OMP_NUM_THREADS=1 python -m results.ett_statistical --data ETTh1.csv.gz --horizon 96 \\
        --model AutoETS --out runs/ett-stat/autoets-h96.json

Protocol (what a per-window refit would cost is out of reach here: 2,785 test windows x 7
columns x an automatic model search each): the model of each column is selected and fitted
once on the 8,640 training rows (season length 24, hourly data); each stride-1 test window's
lookback is then filtered through that fitted model without re-estimating it
(statsforecast's ``forward``) and forecast ``horizon`` steps ahead. Scaling and the metric
are the ETT README's: training-row mean and standard deviation per column, MSE and MAE over
every window, step and column of the scaled values. Written independently of amkit's reader,
as a cross-check of the split.
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import numpy as np

from amkit.io import atomic_write_json

TRAIN, VAL, TEST = 8640, 2880, 2880


def scaled_columns(path: str) -> np.ndarray:
    """``(14400, 7)``: the first 14,400 rows' numeric columns, scaled with the training rows."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split(",")[1:] for line in handle][1:]
    values = np.asarray(rows[: TRAIN + VAL + TEST], dtype=np.float64)
    train = values[:TRAIN]
    return (values - train.mean(axis=0)) / train.std(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--lookback", type=int, default=336)
    parser.add_argument("--model", choices=("AutoETS", "AutoARIMA"), default="AutoETS")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from statsforecast import models

    values = scaled_columns(args.data)
    start, end = TRAIN + VAL, TRAIN + VAL + TEST
    n_windows = TEST - args.horizon + 1
    started = time.perf_counter()
    errors = np.empty((n_windows, args.horizon, values.shape[1]))
    chosen = []
    for column in range(values.shape[1]):
        model = getattr(models, args.model)(season_length=24).fit(values[:TRAIN, column])
        chosen.append(str(model.model_.get("method", model.model_.get("arma", ""))))
        for w in range(n_windows):
            first = start + w  # the window's first target row
            history = values[first - args.lookback : first, column]
            mean = model.forward(history, h=args.horizon)["mean"]
            errors[w, :, column] = mean - values[first : first + args.horizon, column]
    assert first + args.horizon == end  # the last window ends on the test's last row
    seconds = time.perf_counter() - started
    result = {
        "model": f"statsforecast {args.model}",
        "horizon": args.horizon,
        "lookback": args.lookback,
        "mse": float(np.mean(errors**2)),
        "mae": float(np.mean(np.abs(errors))),
        "test_windows": n_windows,
        "selected": chosen,
        "seconds": round(seconds, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    print(result)


if __name__ == "__main__":
    main()
