"""RLinear (Li et al., "Revisiting Long-term Time Series Forecasting: An Investigation on
Linear Mapping", 2023): one linear layer over time, shared across channels, between
reversible instance normalisation (RevIN, Kim et al. 2022) of the input window and its
inverse on the forecast.

As the authors' code runs ETTh1: each window and channel standardised by its own mean and
standard deviation, then scaled and shifted by a learned per-channel affine pair; dropout
(0.1) on the normalised window; the forecast un-shifted, un-scaled (the affine pair's
inverse) and de-standardised. ``individual=True`` gives each channel its own layer.

Legend: B batch, L lookback, H horizon, C channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.models.base import register_model
from amkit.models.timeseries.common import (
    ForecastOutput,
    check_forecasting,
    forecast_output,
    instance_norm,
)

__all__ = ["RLinear", "RLinearConfig"]


@dataclass
class RLinearConfig:
    """RLinear as its paper ran ETTh1 (shared layer, RevIN with the affine pair)."""

    dropout: float = option(0.1, ge=0, lt=1)  # on the normalised input window
    individual: bool = False  # one linear layer per channel
    revin: bool = True  # false: the plain linear map (the ablation)
    affine: bool = True  # RevIN's learned per-channel scale and shift


@register_model("rlinear", config=RLinearConfig)
class RLinear(nn.Module):
    """``forward(x (B, L, C), targets=None)`` -> :class:`ForecastOutput`."""

    def __init__(self, config: RLinearConfig, info: DataInfo):
        super().__init__()
        self.config = config
        lookback, horizon, channels = check_forecasting(info, "rlinear")
        n = channels if config.individual else 1
        self.linear = nn.ModuleList(nn.Linear(lookback, horizon) for _ in range(n))
        self.drop = nn.Dropout(config.dropout)
        self.eps = 1e-5
        self.scale = self.shift = None  # RevIN's affine pair, (C,) each
        if config.revin and config.affine:
            self.scale = nn.Parameter(torch.ones(channels))
            self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, targets: Tensor | None = None, start: Tensor | None = None,
                need_weights: bool = False) -> ForecastOutput:  # fmt: skip
        cfg = self.config
        if cfg.revin:
            x, mean, std = instance_norm(x, self.eps)  # (B, L, C), stats (B, 1, C)
            if self.scale is not None:
                x = x * self.scale + self.shift
        series = self.drop(x).transpose(1, 2)  # (B, C, L)
        if cfg.individual:
            out = torch.stack([layer(series[:, i]) for i, layer in enumerate(self.linear)], 1)
        else:
            out = self.linear[0](series)  # (B, C, H)
        forecast = out.transpose(1, 2)  # (B, H, C)
        if cfg.revin:
            if self.scale is not None:
                forecast = (forecast - self.shift) / (self.scale + self.eps * self.eps)
            forecast = forecast * std + mean
        return forecast_output(forecast, targets)
