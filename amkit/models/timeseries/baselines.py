"""Forecasting baselines with nothing to learn: the last value and the seasonal naive.

Both run through ``amkit train`` like any model: with no parameters the trainer evaluates
them once (no epochs).

Legend: B batch, L lookback, H horizon, C channels, p period.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.base import register_model
from amkit.models.timeseries.common import ForecastOutput, check_forecasting, forecast_output

__all__ = ["LastValue", "LastValueConfig", "SeasonalNaive", "SeasonalNaiveConfig"]


@dataclass
class LastValueConfig:
    """The last value has no settings."""


@register_model("last_value", config=LastValueConfig)
class LastValue(nn.Module):
    """Every step of the forecast is the window's last row: ``y[t] = x[L - 1]``."""

    def __init__(self, config: LastValueConfig, info: DataInfo):
        super().__init__()
        self.config = config
        _, self.horizon, _ = check_forecasting(info, "last_value")

    def forward(self, x: Tensor, targets: Tensor | None = None, start: Tensor | None = None,
                need_weights: bool = False) -> ForecastOutput:  # fmt: skip
        forecast = x[:, -1:].expand(-1, self.horizon, -1)  # (B, H, C)
        return forecast_output(forecast, targets)


@dataclass
class SeasonalNaiveConfig:
    """``period``: rows in a season (24 for hourly data with a daily cycle)."""

    period: int = option(24, ge=1)


@register_model("seasonal_naive", config=SeasonalNaiveConfig)
class SeasonalNaive(nn.Module):
    """Each step repeats the row one season earlier: ``y[t] = x[L - p + (t mod p)]``."""

    def __init__(self, config: SeasonalNaiveConfig, info: DataInfo):
        super().__init__()
        self.config = config
        lookback, self.horizon, _ = check_forecasting(info, "seasonal_naive")
        if config.period > lookback:
            raise UserError(
                f"model.period ({config.period}) must be <= data.lookback ({lookback}): the "
                "window must hold a whole season"
            )

    def forward(self, x: Tensor, targets: Tensor | None = None, start: Tensor | None = None,
                need_weights: bool = False) -> ForecastOutput:  # fmt: skip
        p = self.config.period
        steps = torch.arange(self.horizon, device=x.device) % p + x.shape[1] - p  # (H,)
        return forecast_output(x[:, steps], targets)
