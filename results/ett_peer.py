"""The peer row of the ETTh1 page: neuralforecast's PatchTST on the same split and metric.

Runs in its own virtual environment (neuralforecast pins its own Lightning stack):

    python -m venv /work/peer-venv
    /work/peer-venv/bin/pip install torch==2.13.0 neuralforecast
    OMP_NUM_THREADS=2 /work/peer-venv/bin/python results/ett_peer.py \\
        --data ETTh1.csv.gz --horizon 96 --seed 0 --max-steps 3000 --out runs/ett-peer/h96-s0.json

The protocol is the ETT README's, written here independently of amkit's reader (a cross-check
of it): rows 0-8640 train, 8640-11520 validation, 11520-14400 test; every column scaled with
the training rows' mean and standard deviation; lookback 336; every stride-1 test window
(2880 - horizon + 1 of them), MSE and MAE averaged over windows, steps and the 7 columns.
neuralforecast's ``cross_validation`` with ``refit=False`` trains once on the rows before the
test (validation: the last 2880 of them, for early stopping) and forecasts each test window
without refitting. The model is channel-independent, as PatchTST is: each column is a series.
Settings: the PatchTST paper's ETTh1 script (3 layers, 4 heads, width 16, feed-forward 128,
dropout 0.3, head dropout 0, patch 16 stride 8, RevIN without subtract-last, BatchNorm,
lr 1e-4, MSE loss); training length is a step budget (``--max-steps``) with early stopping on
validation, stated in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

TRAIN, VAL, TEST = 8640, 2880, 2880


def scaled_long_frame(path: str) -> tuple[pd.DataFrame, list[str]]:
    """The first 14,400 rows scaled with training statistics, in neuralforecast's long format
    (``unique_id``, ``ds``, ``y``), and the column names."""
    frame = pd.read_csv(path, parse_dates=["date"]).iloc[: TRAIN + VAL + TEST]
    columns = [c for c in frame.columns if c != "date"]
    values = frame[columns].to_numpy(dtype=np.float64)
    mean, std = values[:TRAIN].mean(axis=0), values[:TRAIN].std(axis=0)
    scaled = (values - mean) / std
    parts = [
        pd.DataFrame({"unique_id": name, "ds": frame["date"], "y": scaled[:, j]})
        for j, name in enumerate(columns)
    ]
    return pd.concat(parts, ignore_index=True), columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--lookback", type=int, default=336)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=3000)
    parser.add_argument("--val-check-steps", type=int, default=100)
    parser.add_argument("--patience", type=int, default=10, help="validation checks")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MSE
    from neuralforecast.models import PatchTST

    frame, columns = scaled_long_frame(args.data)
    model = PatchTST(
        h=args.horizon,
        input_size=args.lookback,
        encoder_layers=3,
        n_heads=4,
        hidden_size=16,
        linear_hidden_size=128,
        dropout=0.3,
        fc_dropout=0.3,
        head_dropout=0.0,
        patch_len=16,
        stride=8,
        revin=True,
        revin_subtract_last=False,
        batch_normalization=True,
        loss=MSE(),
        learning_rate=1e-4,
        max_steps=args.max_steps,
        val_check_steps=args.val_check_steps,
        early_stop_patience_steps=args.patience,
        batch_size=len(columns),
        windows_batch_size=128,
        inference_windows_batch_size=4096,
        random_seed=args.seed,
        scaler_type="identity",
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
    )
    n_windows = TEST - args.horizon + 1
    started = time.perf_counter()
    forecast = NeuralForecast(models=[model], freq="h").cross_validation(
        df=frame, n_windows=n_windows, step_size=1, val_size=VAL, refit=False
    )
    seconds = time.perf_counter() - started
    error = forecast["PatchTST"].to_numpy() - forecast["y"].to_numpy()
    expected = n_windows * args.horizon * len(columns)
    if error.size != expected:
        raise SystemExit(f"expected {expected} forecast values, got {error.size}")
    result = {
        "model": "neuralforecast PatchTST",
        "horizon": args.horizon,
        "lookback": args.lookback,
        "seed": args.seed,
        "mse": float(np.mean(error**2)),
        "mae": float(np.mean(np.abs(error))),
        "test_windows": n_windows,
        "max_steps": args.max_steps,
        "seconds": round(seconds, 1),
        "threads": os.environ.get("OMP_NUM_THREADS"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(args.out + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
