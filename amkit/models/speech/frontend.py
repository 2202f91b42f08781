"""What both speech models share: the frame mask, SpecAugment-style masking and a
convolutional front end over log-mel frames.

Legend: B batch, T frames, F mel bands, C channels.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from amkit.data.base import DataInfo
from amkit.errors import UserError

__all__ = ["ConvFrontEnd", "crop_frames", "frame_width", "mask_spectrogram", "prepare_frames"]


def frame_width(info: DataInfo) -> int:
    """F, the width of the data's frames; data without frames is a :class:`UserError`."""
    if info.n_features is None:
        raise UserError(
            "a speech model needs frames of features (data_info.n_features): train it on "
            "speech data such as data.name: fsdd"
        )
    return info.n_features


def crop_frames(features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """``features (B, T, F)`` cut to the batch's longest clip ``T' = max(lengths)``, and the
    frame mask ``(B, T')`` (True = a real frame)."""
    width = int(lengths.max().clamp(min=1))
    features = features[:, :width]
    mask = torch.arange(width, device=features.device)[None] < lengths[:, None]  # (B, T')
    return features, mask


def mask_spectrogram(features: Tensor, freq_width: int, time_width: int) -> Tensor:
    """SpecAugment's frequency and time masking (Park et al. 2019), one band and one span
    per clip of random width up to ``freq_width`` / ``time_width``, set to 0 (the mean of
    normalised features); draws from torch's global generator (seeded by the run)."""
    b, t, f = features.shape
    out = features.clone()
    for width, size, dim in ((freq_width, f, 2), (time_width, t, 1)):
        if width <= 0:
            continue
        widths = torch.randint(0, width + 1, (b, 1), device=features.device)  # (B, 1)
        starts = (torch.rand(b, 1, device=features.device) * (size - widths).clamp(min=1)).long()
        steps = torch.arange(size, device=features.device)[None]  # (1, size)
        hit = (steps >= starts) & (steps < starts + widths)  # (B, size)
        out = out.masked_fill(hit.unsqueeze(1) if dim == 2 else hit.unsqueeze(2), 0.0)
    return out


class ConvFrontEnd(nn.Module):
    """``n_layers`` 1-D convolutions over time (same length, ReLU, batch norm): ``(B, T, F)
    -> (B, T, C)``; padding frames are zeroed before each convolution so that a clip gives
    the same output alone or in a batch."""

    def __init__(self, d_in: int, channels: int, kernel: int, n_layers: int, dropout: float):
        super().__init__()
        layers = []
        for i in range(n_layers):
            layers.append(nn.Conv1d(d_in if i == 0 else channels, channels, kernel,
                                    padding=kernel // 2))  # fmt: skip
        self.convs = nn.ModuleList(layers)
        self.norms = nn.ModuleList(nn.BatchNorm1d(channels) for _ in range(n_layers))
        self.dropout = nn.Dropout(dropout)
        self.d_out = channels

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        real = mask.unsqueeze(1).to(x.dtype)  # (B, 1, T)
        h = x.transpose(1, 2)  # (B, F, T)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = self.dropout(torch.relu(norm(conv(h * real))))  # (B, C, T)
        return (h * real).transpose(1, 2)  # (B, T, C)


def prepare_frames(
    features: Tensor, lengths: Tensor, front: nn.Module | None, freq_mask: int, time_mask: int,
    training: bool,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """What every speech model does first: ``features (B, T, F)`` cropped to the longest
    real clip (:func:`crop_frames`), masked SpecAugment-style while training
    (:func:`mask_spectrogram`), then through the convolutional ``front`` when there is one.
    Returns ``(x (B, T', F or D), mask (B, T'))``."""
    x, mask = crop_frames(features, lengths)  # (B, T', F), (B, T')
    if training and (freq_mask or time_mask):
        x = mask_spectrogram(x, freq_mask, time_mask)
    if front is not None:
        x = front(x, mask)  # (B, T', D)
    return x, mask
