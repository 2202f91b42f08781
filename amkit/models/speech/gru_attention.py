"""A recurrent speech classifier: log-mel frames -> [convolutions] -> bidirectional GRU /
LSTM -> additive attention pooling over frames -> class logits.

The recurrent encoder with attention pooling of attention-based keyword spotting and
utterance classification (de Andrade et al. 2018, "A neural attention model for speech
command recognition", arXiv:1808.08929: convolutions, two bidirectional LSTMs, attention);
here the attention is HAN's additive pooling with a learned context vector (Yang et al.
2016, :class:`amkit.attention.pooling.AttentionPooling`) rather than their query from the
middle frame, and SpecAugment-style masking (Park et al. 2019) is an option.

Weights (``need_weights=True``, :class:`GRUAttentionOutput`): ``frames`` ``(B, T)`` how much
each input frame counted for the pooled vector: rows sum to 1, padding frames get 0.

Legend: B batch, T frames, F mel bands, D widths, C classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.pooling import AttentionPooling
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.encoders import RNNEncoder
from amkit.models.base import ModelOutput, register_model
from amkit.models.speech.frontend import (
    ConvFrontEnd,
    frame_width,
    prepare_frames,
)

__all__ = ["GRUAttention", "GRUAttentionConfig", "GRUAttentionOutput"]


@dataclass
class GRUAttentionOutput(ModelOutput):
    """:class:`GRUAttention`'s output.

    Attributes:
        frames: ``(B, T)`` attention over the input frames (sums to 1; 0 at padding).
    """

    frames: Tensor | None = None


@dataclass
class GRUAttentionConfig:
    """The recurrent speech classifier's options."""

    rnn: Literal["gru", "lstm"] = "gru"
    conv_layers: int = option(1, ge=0)  # 0: the RNN reads the log-mel frames directly
    conv_channels: int = option(64, ge=1)
    conv_kernel: int = option(5, ge=1)
    d_hidden: int = option(64, ge=1)  # per direction
    n_layers: int = option(2, ge=1)
    attention_dim: int | None = option(None, ge=1)  # None: the encoder's width
    dropout: float = option(0.2, ge=0, lt=1)
    freq_mask: int = option(0, ge=0)  # SpecAugment: widest masked mel band at training
    time_mask: int = option(0, ge=0)  # widest masked span of frames at training

    def validate(self) -> list[str]:
        if self.conv_kernel % 2 == 0:
            return [f"conv_kernel ({self.conv_kernel}) must be odd to keep every frame"]
        return []


@register_model("gru_attention", config=GRUAttentionConfig)
class GRUAttention(nn.Module):
    """``forward(features, lengths, targets=None, need_weights=False)``."""

    def __init__(self, config: GRUAttentionConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        d_in = frame_width(data_info)
        self.front = None
        if config.conv_layers:
            self.front = ConvFrontEnd(d_in, config.conv_channels, config.conv_kernel,
                                      config.conv_layers, config.dropout / 2)  # fmt: skip
            d_in = self.front.d_out
        self.encoder = RNNEncoder(config.rnn, d_in, config.d_hidden, config.n_layers,
                                  config.dropout)  # fmt: skip
        self.pooling = AttentionPooling(self.encoder.d_out, config.attention_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.encoder.d_out, data_info.n_classes)

    def forward(
        self,
        features: Tensor,
        lengths: Tensor,
        targets: Tensor | None = None,
        need_weights: bool = False,
    ) -> GRUAttentionOutput:
        """features ``(B, T, F)`` log-mel frames, lengths ``(B,)`` real frames, targets
        ``(B,)``."""
        full = features.shape[1]
        cfg = self.config
        x, mask = prepare_frames(features, lengths, self.front, cfg.freq_mask, cfg.time_mask,
                                 self.training)  # fmt: skip
        h = self.encoder(x, mask)  # (B, T', 2H)
        pooled, weights = self.pooling(h, mask, need_weights=need_weights)  # (B, 2H)
        logits = self.head(self.dropout(pooled))  # (B, C)
        loss = F.cross_entropy(logits, targets) if targets is not None else None
        if weights is not None:
            weights = F.pad(weights, (0, full - weights.shape[1]))  # (B, T)
        return GRUAttentionOutput(logits, loss, frames=weights)
