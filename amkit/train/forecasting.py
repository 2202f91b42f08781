"""Scoring forecasts: MSE and MAE over every window, step and channel of a split.

The standard long-horizon protocol (Informer, Autoformer, PatchTST, DLinear): errors on the
scaled values, averaged over every stride-1 window of the split -- the last, partial batch
included -- every forecast step and every channel.

Legend: N windows, B batch, H horizon, C channels.
"""

from __future__ import annotations

import torch
from torch import nn

from amkit.data.base import TensorDictDataset, iterate_batches, model_inputs
from amkit.errors import UserError
from amkit.train.device import model_device, to_device

__all__ = ["evaluate_forecasts", "forecast_errors"]


def forecast_errors(forecast: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """``{"mse", "mae", "n"}`` of ``forecast`` and ``targets`` ``(N, H, C)``: means over
    all N * H * C values (``n`` = N windows)."""
    if forecast.shape != targets.shape or forecast.dim() != 3:
        raise UserError(
            f"forecast and targets must both be (N, H, C), got {tuple(forecast.shape)} and "
            f"{tuple(targets.shape)}"
        )
    error = forecast.double() - targets.double()
    return {
        "mse": float((error**2).mean()),
        "mae": float(error.abs().mean()),
        "n": int(forecast.shape[0]),
    }


@torch.no_grad()
def evaluate_forecasts(
    model: nn.Module, dataset: TensorDictDataset, batch_size: int = 256
) -> dict[str, float]:
    """``{"loss", "mse", "mae", "n"}`` of ``model`` on every window of ``dataset``; the
    errors are summed in float64 batch by batch, so the result is the mean over all windows
    whatever the batch size (``loss`` equals ``mse``)."""
    was_training = model.training
    model.eval()
    device = model_device(model)
    squared, absolute, values, windows = 0.0, 0.0, 0, 0
    for cpu_batch in iterate_batches(dataset, batch_size):
        batch = to_device(cpu_batch, device)
        inputs = model_inputs(batch)
        targets = inputs.pop("targets")
        out = model(**inputs)
        error = out.forecast.double() - targets.double()  # (B, H, C)
        squared += float((error**2).sum())
        absolute += float(error.abs().sum())
        values += error.numel()
        windows += len(error)
    model.train(was_training)
    if not windows:
        raise UserError("cannot evaluate on an empty split")
    mse = squared / values
    return {"loss": mse, "mse": mse, "mae": absolute / values, "n": windows}
