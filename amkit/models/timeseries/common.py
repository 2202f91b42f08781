"""What the forecasting models share: the output dataclass, instance normalisation, the loss.

Every forecaster is ``ModelClass(config, info)`` for a ``forecasting`` dataset
(:mod:`amkit.data.forecasting`) and is called as ``model(x, targets=None, start=None,
need_weights=False)`` with ``x (B, L, C)`` scaled input rows; it returns a
:class:`ForecastOutput` whose ``forecast`` is ``(B, H, C)`` on the same scale and whose
``loss`` is the MSE against ``targets (B, H, C)``.

Legend: B batch, L lookback, H horizon, C channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.base import ModelOutput, not_attention

__all__ = ["ForecastOutput", "check_forecasting", "forecast_output", "instance_norm"]


@dataclass
class ForecastOutput(ModelOutput):
    """A forecaster's output.

    Attributes:
        logits: the forecast ``(B, H, C)``, also read as :attr:`forecast`.
        loss: MSE of the forecast against the targets, on the scaled values.
        patches: PatchTST's self-attention over patches ``(B * C, N, Hh, P, P)``, layer
            ``i`` at ``[:, i]``; with ``need_weights``.
        memory: the memory forecaster's attention over the retrieved windows ``(B, k)``
            (rows sum to 1); with ``need_weights``.
        retrieved: ``(B, k)`` the training windows it retrieved (their first rows in the
            series; -1 where fewer were found); with ``need_weights``.
        gate: ``(B, H, C)`` the weight of the base forecast against the retrieved one (1 =
            base only); with ``need_weights``.
    """

    patches: Tensor | None = None
    memory: Tensor | None = None
    retrieved: Tensor | None = not_attention()
    gate: Tensor | None = not_attention()

    @property
    def forecast(self) -> Tensor:
        """``(B, H, C)`` the forecast (the ``logits``)."""
        return self.logits


def check_forecasting(info: DataInfo, model: str) -> tuple[int, int, int]:
    """``(L, H, C)`` of a forecasting dataset; another task is a :class:`UserError`."""
    if info.task != "forecasting" or not info.n_channels:
        raise UserError(
            f"model {model} forecasts a time series: use data.name timeseries "
            f"(this data's task is {info.task})"
        )
    return int(info.lookback), int(info.horizon), int(info.n_channels)


def forecast_output(forecast: Tensor, targets: Tensor | None, **fields) -> ForecastOutput:
    """:class:`ForecastOutput` with the MSE loss when ``targets`` are given."""
    loss = None if targets is None else F.mse_loss(forecast, targets.to(forecast.dtype))
    return ForecastOutput(logits=forecast, loss=loss, **fields)


def instance_norm(x: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """RevIN without the affine part (Kim et al. 2022, as PatchTST's ``revin=1,
    affine=0``): each window and channel standardised by its own statistics.

    Args:
        x: ``(B, L, C)``.

    Returns:
        ``(normed (B, L, C), mean (B, 1, C), std (B, 1, C))``; ``normed * std + mean`` is
        ``x``; std is ``sqrt(var + eps)`` (population variance).
    """
    mean = x.mean(1, keepdim=True).detach()
    std = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + eps).detach()
    return (x - mean) / std, mean, std
