"""DLinear (Zeng et al., "Are Transformers Effective for Time Series Forecasting?", AAAI
2023): a moving-average decomposition of the window into trend and remainder, each mapped
to the horizon by one linear layer over time, the two added.

As the authors' code: the moving average (kernel 25, stride 1) pads both ends by repeating
the first and last rows, so the trend has the window's length; ``individual=False`` shares
the two layers across channels (``True``: one pair per channel).

Legend: B batch, L lookback, H horizon, C channels, K kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.base import register_model
from amkit.models.timeseries.common import ForecastOutput, check_forecasting, forecast_output

__all__ = ["DLinear", "DLinearConfig", "moving_average"]


def moving_average(x: Tensor, kernel: int) -> Tensor:
    """The trend: a stride-1 mean over ``kernel`` steps of ``x (B, L, C)``, the ends padded
    by repeating the first / last row (``(kernel - 1) // 2`` each side) -> ``(B, L', C)``,
    ``L' = L`` for an odd kernel."""
    pad = (kernel - 1) // 2
    padded = torch.cat([x[:, :1].expand(-1, pad, -1), x, x[:, -1:].expand(-1, pad, -1)], dim=1)
    return F.avg_pool1d(padded.transpose(1, 2), kernel, stride=1).transpose(1, 2)


@dataclass
class DLinearConfig:
    """DLinear as its paper ran ETTh1 (kernel 25, shared layers)."""

    kernel: int = option(25, ge=1)  # moving-average window (odd keeps the length)
    individual: bool = False  # one pair of linear layers per channel


@register_model("dlinear", config=DLinearConfig)
class DLinear(nn.Module):
    """``forward(x (B, L, C), targets=None)`` -> :class:`ForecastOutput`."""

    def __init__(self, config: DLinearConfig, info: DataInfo):
        super().__init__()
        if config.kernel % 2 == 0:
            raise UserError(f"model.kernel ({config.kernel}) must be odd, e.g. 25")
        self.config = config
        lookback, horizon, channels = check_forecasting(info, "dlinear")
        n = channels if config.individual else 1
        self.seasonal = nn.ModuleList(nn.Linear(lookback, horizon) for _ in range(n))
        self.trend = nn.ModuleList(nn.Linear(lookback, horizon) for _ in range(n))

    def forward(self, x: Tensor, targets: Tensor | None = None, start: Tensor | None = None,
                need_weights: bool = False) -> ForecastOutput:  # fmt: skip
        trend = moving_average(x, self.config.kernel)  # (B, L, C)
        seasonal = (x - trend).transpose(1, 2)  # (B, C, L)
        trend = trend.transpose(1, 2)
        if self.config.individual:
            out = torch.stack(
                [s(seasonal[:, i]) + t(trend[:, i])
                 for i, (s, t) in enumerate(zip(self.seasonal, self.trend, strict=True))],
                dim=1,
            )  # fmt: skip
        else:
            out = self.seasonal[0](seasonal) + self.trend[0](trend)  # (B, C, H)
        return forecast_output(out.transpose(1, 2), targets)  # (B, H, C)
