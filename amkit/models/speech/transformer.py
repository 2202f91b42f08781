"""A small Transformer over speech frames: log-mel frames -> [convolutions] -> projection +
sinusoidal positions -> amkit's pre-norm Transformer encoder -> additive attention pooling
-> class logits.

Self-attention over the frames of an utterance, as in the speech Transformers (Dong et al.
2018, "Speech-Transformer"; for keyword spotting Berg et al. 2021, "Keyword Transformer",
which splits the spectrogram into time frames as here, but pools a class token where this
model pools with additive attention, so that the pooled weights are one distribution over
frames). Built from :class:`amkit.attention.TransformerEncoder`; no dropout on attention
weights (it would leave PyTorch's fused kernel).

Weights (``need_weights=True``, :class:`SpeechTransformerOutput`): ``frames`` ``(B, T)``
the pooling's attention over the input frames (rows sum to 1, padding 0), and ``layers``
``(B, N, H, T, T)`` each layer's self-attention per head (padding keys get 0).

Legend: B batch, T frames, F mel bands, D model width, H heads, N layers, C classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention import TransformerEncoder
from amkit.attention.pooling import AttentionPooling
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.memory.universal_transformer import timing_signal
from amkit.models.base import ModelOutput, register_model
from amkit.models.speech.frontend import (
    ConvFrontEnd,
    frame_width,
    prepare_frames,
)

__all__ = ["SpeechTransformer", "SpeechTransformerConfig", "SpeechTransformerOutput"]

MAX_FRAMES = 4096  # 41 s at 10 ms frames


@dataclass
class SpeechTransformerOutput(ModelOutput):
    """:class:`SpeechTransformer`'s output.

    Attributes:
        frames: ``(B, T)`` the pooling's attention over the input frames (sums to 1).
        layers: ``(B, N, H, T, T)`` each layer's self-attention, per head.
    """

    frames: Tensor | None = None
    layers: Tensor | None = None


@dataclass
class SpeechTransformerConfig:
    """The speech Transformer's options."""

    conv_layers: int = option(1, ge=0)  # 0: a linear projection of the frames only
    conv_channels: int = option(64, ge=1)
    conv_kernel: int = option(5, ge=1)
    d_model: int = option(96, ge=1)
    n_heads: int = option(4, ge=1)
    n_layers: int = option(3, ge=1)
    d_ff: int | None = option(None, ge=1)  # None: 4 d_model
    dropout: float = option(0.1, ge=0, lt=1)
    freq_mask: int = option(0, ge=0)  # SpecAugment: widest masked mel band at training
    time_mask: int = option(0, ge=0)  # widest masked span of frames at training

    def validate(self) -> list[str]:
        problems = []
        if self.d_model % self.n_heads:
            problems.append(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if self.conv_kernel % 2 == 0:
            problems.append(f"conv_kernel ({self.conv_kernel}) must be odd to keep every frame")
        return problems


@register_model("speech_transformer", config=SpeechTransformerConfig)
class SpeechTransformer(nn.Module):
    """``forward(features, lengths, targets=None, need_weights=False)``."""

    def __init__(self, config: SpeechTransformerConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        d_in = frame_width(data_info)
        self.front = None
        if config.conv_layers:
            self.front = ConvFrontEnd(d_in, config.conv_channels, config.conv_kernel,
                                      config.conv_layers, config.dropout)  # fmt: skip
            d_in = self.front.d_out
        self.proj = nn.Linear(d_in, config.d_model)
        self.encoder = TransformerEncoder(
            config.d_model, config.n_heads, config.n_layers, config.d_ff, config.dropout,
            attention_dropout=0.0,
        )  # fmt: skip
        # fixed sinusoids for up to MAX_FRAMES frames, made once (not saved with the weights)
        self.register_buffer("positions", timing_signal(MAX_FRAMES, config.d_model), False)
        self.pooling = AttentionPooling(config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.d_model, data_info.n_classes)

    def forward(
        self,
        features: Tensor,
        lengths: Tensor,
        targets: Tensor | None = None,
        need_weights: bool = False,
    ) -> SpeechTransformerOutput:
        """features ``(B, T, F)`` log-mel frames, lengths ``(B,)`` real frames, targets
        ``(B,)``."""
        full = features.shape[1]
        cfg = self.config
        x, mask = prepare_frames(features, lengths, self.front, cfg.freq_mask, cfg.time_mask,
                                 self.training)  # fmt: skip
        t = x.shape[1]
        if t > MAX_FRAMES:
            raise UserError(f"{t} frames: the speech Transformer takes at most {MAX_FRAMES}")
        x = self.proj(x) + self.positions[:t].to(x.dtype)  # (B, T', D)
        h, layers = self.encoder(x, valid_keys=mask, need_weights=need_weights)  # (B, T', D)
        pooled, weights = self.pooling(h, mask, need_weights=need_weights)  # (B, D)
        logits = self.head(self.dropout(pooled))  # (B, C)
        loss = F.cross_entropy(logits, targets) if targets is not None else None
        stacked = None
        if need_weights:
            pad = full - t
            weights = F.pad(weights, (0, pad))  # (B, T)
            stacked = F.pad(torch.stack(layers, dim=1), (0, pad, 0, pad))  # (B, N, H, T, T)
        return SpeechTransformerOutput(logits, loss, frames=weights, layers=stacked)
