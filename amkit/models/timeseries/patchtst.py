"""PatchTST (Nie et al., "A Time Series is Worth 64 Words", ICLR 2023), supervised.

Each channel is forecast on its own (channel independence, shared weights): the window is
instance-normalised (RevIN without the affine part), padded at the end by repeating its
last value ``stride`` times, cut into ``P = (L - patch_len) / stride + 2`` patches of
``patch_len`` steps, each projected to ``d_model`` plus a learned position embedding, run
through a Transformer encoder, and the patches' outputs flattened into one linear head to
the horizon; the forecast is de-normalised.

The encoder layers are post-norm with BatchNorm over ``d_model``, as the paper's code
(``norm='BatchNorm'``), built on :class:`amkit.attention.MultiHeadAttention` (amkit's own
:class:`~amkit.attention.transformer.TransformerEncoder` is pre-LayerNorm only, so it is not
used here). Deviation: the authors' code also adds each layer's pre-softmax scores to the
next layer's (``res_attention``); amkit's attention does not hand those out, so this
implementation does not.

Defaults are the paper's ETTh1 settings (PatchTST/42: lookback 336 from the data, 3 layers,
d_model 16, 4 heads, d_ff 128, dropout 0.3, head dropout 0, patches of 16 with stride 8;
lr 1e-4 in the shipped config).

Legend: B batch, L lookback, H horizon, C channels, P patches, D d_model, Hh heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from amkit.attention.multihead import MultiHeadAttention
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.base import register_model
from amkit.models.timeseries.common import (
    ForecastOutput,
    check_forecasting,
    forecast_output,
    instance_norm,
)

__all__ = ["PatchTST", "PatchTSTConfig", "make_patches"]


def make_patches(x: Tensor, patch_len: int, stride: int) -> Tensor:
    """``x (N, L)`` -> ``(N, P, patch_len)``: the end padded with ``stride`` copies of the
    last value, then windows of ``patch_len`` every ``stride`` steps."""
    padded = torch.cat([x, x[:, -1:].expand(-1, stride)], dim=1)  # (N, L + stride)
    return padded.unfold(1, patch_len, stride)


@dataclass
class PatchTSTConfig:
    """PatchTST/42 as the paper ran ETTh1."""

    patch_len: int = option(16, ge=1)
    stride: int = option(8, ge=1)
    d_model: int = option(16, ge=1)
    n_heads: int = option(4, ge=1)
    d_ff: int = option(128, ge=1)
    n_layers: int = option(3, ge=1)
    dropout: float = option(0.3, ge=0, lt=1)
    head_dropout: float = option(0.0, ge=0, lt=1)
    revin: bool = True  # instance normalisation of each window (the paper's RevIN)


class _BatchNorm(nn.Module):
    """BatchNorm1d over the width of ``(N, P, D)``."""

    def __init__(self, d_model: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class PatchEncoderLayer(nn.Module):
    """``x = BN(x + Drop(Attn(x)))`` then ``x = BN(x + Drop(FFN(x)))`` (post-norm)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.norm1 = _BatchNorm(d_model)
        self.ff = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model)
        )
        self.norm2 = _BatchNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """``x (N, P, D)`` -> ``(N, P, D)``, weights ``(N, Hh, P, P)`` or None."""
        attended, weights = self.attn(x, need_weights=need_weights)
        x = self.norm1(x + self.drop(attended))
        x = self.norm2(x + self.drop(self.ff(x)))
        return x, weights


@register_model("patchtst", config=PatchTSTConfig)
class PatchTST(nn.Module):
    """``forward(x (B, L, C), targets=None, need_weights=False)`` -> :class:`ForecastOutput`
    (``patches`` with the attention of every layer when asked)."""

    def __init__(self, config: PatchTSTConfig, info: DataInfo):
        super().__init__()
        self.config = config
        lookback, horizon, _ = check_forecasting(info, "patchtst")
        if config.patch_len > lookback:
            raise UserError(
                f"model.patch_len ({config.patch_len}) must be <= data.lookback ({lookback})"
            )
        self.n_patches = (lookback - config.patch_len) // config.stride + 2
        self.project = nn.Linear(config.patch_len, config.d_model)
        self.position = nn.Parameter(torch.empty(self.n_patches, config.d_model))
        nn.init.uniform_(self.position, -0.02, 0.02)  # the authors' learned 'zeros' embedding
        self.drop = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(
            PatchEncoderLayer(config.d_model, config.n_heads, config.d_ff, config.dropout)
            for _ in range(config.n_layers)
        )
        self.head = nn.Sequential(
            nn.Flatten(start_dim=1),
            nn.Linear(self.n_patches * config.d_model, horizon),
            nn.Dropout(config.head_dropout),
        )

    def forward(self, x: Tensor, targets: Tensor | None = None, start: Tensor | None = None,
                need_weights: bool = False) -> ForecastOutput:  # fmt: skip
        B, L, C = x.shape
        cfg = self.config
        if cfg.revin:
            x, mean, std = instance_norm(x)
        series = x.transpose(1, 2).reshape(B * C, L)  # (B*C, L): channels independent
        patches = make_patches(series, cfg.patch_len, cfg.stride)  # (B*C, P, patch_len)
        h = self.drop(self.project(patches) + self.position)  # (B*C, P, D)
        weights = []
        for layer in self.layers:
            h, w = layer(h, need_weights)
            if w is not None:
                weights.append(w)  # (B*C, Hh, P, P)
        forecast = self.head(h).view(B, C, -1).transpose(1, 2)  # (B, H, C)
        if cfg.revin:
            forecast = forecast * std + mean
        attention = torch.stack(weights, dim=1) if need_weights else None  # (B*C, N, Hh, P, P)
        return forecast_output(forecast, targets, patches=attention)
