"""A small vision Transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words").

``images (B, C_in, H, W)`` -> non-overlapping ``patch x patch`` patches, each linearly
embedded (a strided convolution) -> + learned position embeddings -> amkit's pre-norm
:class:`~amkit.attention.TransformerEncoder` -> the mean of the patch states -> logits.

Deviations from the paper, for small images trained from scratch: the patch states are
mean-pooled instead of read from a class token (every attention map is then over patches
only), and there is no pre-training.

``need_weights=True`` returns every layer's attention ``(B, L, H, N, N)`` over the
``N = (H / patch) * (W / patch)`` patches, on the grid of :meth:`position_grid`.

Legend: B batch, L layers, H heads (in shapes of weights), N patches, D width, C classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.transformer import TransformerEncoder
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.base import register_model
from amkit.models.vision.cnn import ImageClassifierOutput


@dataclass
class VisionTransformerConfig:
    """The vision Transformer's options."""

    patch: int = option(4, ge=1)  # patch side in pixels; must divide the image's sides
    d_model: int = option(128, ge=1)
    n_heads: int = option(4, ge=1)
    n_layers: int = option(6, ge=1)
    d_ff: int | None = option(None, ge=1)  # None: 4 * d_model
    dropout: float = option(0.1, ge=0, lt=1)
    # attention-weight dropout; 0 keeps the fused attention kernel on the CPU (much faster)
    attention_dropout: float = option(0.0, ge=0, lt=1)
    label_smoothing: float = option(0.0, ge=0, lt=1)


@register_model("vit", VisionTransformerConfig)
class VisionTransformer(nn.Module):
    """Patch embeddings + amkit's Transformer encoder + mean pooling."""

    def __init__(self, config: VisionTransformerConfig, info: DataInfo):
        super().__init__()
        if info.image_shape is None:
            raise UserError("vit needs image data (data.name: fashion_mnist or digits)")
        c_in, height, width = info.image_shape
        if height % config.patch or width % config.patch:
            fits = [p for p in range(1, height + 1) if not height % p and not width % p]
            raise UserError(
                f"model.patch ({config.patch}) must divide the image size {height}x{width}; "
                f"try one of {fits}"
            )
        self.config = config
        self.grid = (height // config.patch, width // config.patch)
        n_patches = self.grid[0] * self.grid[1]
        self.embed = nn.Conv2d(c_in, config.d_model, config.patch, config.patch)
        self.position = nn.Parameter(torch.randn(1, n_patches, config.d_model) * 0.02)
        self.drop = nn.Dropout(config.dropout)
        self.encoder = TransformerEncoder(
            config.d_model,
            config.n_heads,
            config.n_layers,
            config.d_ff,
            config.dropout,
            config.attention_dropout,
        )
        self.head = nn.Linear(config.d_model, info.n_classes)

    def forward(
        self, images: Tensor, targets: Tensor | None = None, need_weights: bool = False
    ) -> ImageClassifierOutput:
        """images ``(B, C_in, H, W)`` (normalised), targets ``(B,)``."""
        x = self.embed(images).flatten(2).transpose(1, 2)  # (B, N, D)
        x = self.drop(x + self.position)
        x, weights = self.encoder(x, need_weights=need_weights)  # (B, N, D)
        logits = self.head(x.mean(1))  # (B, C)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets, label_smoothing=self.config.label_smoothing)
        return ImageClassifierOutput(
            logits,
            loss,
            positions=torch.stack(weights, 1) if weights else None,  # (B, L, H, N, N)
        )

    def position_grid(self, height: int, width: int) -> tuple[int, int]:
        """``(h, w)``: the patch grid of ``height x width`` images."""
        return height // self.config.patch, width // self.config.patch
