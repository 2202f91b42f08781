"""A compact residual CNN image classifier, optionally with a self-attention block.

``images (B, 1, H, W)`` -> a 3x3 stem -> ``len(channels)`` stages of residual blocks
(He et al. 2016's basic block: two 3x3 convolutions with batch normalisation; every stage
after the first halves the resolution) -> global average pooling -> dropout -> logits.

``attention: sagan`` inserts :class:`~amkit.attention.SelfAttention2d` (Zhang et al. 2019)
and ``attention: nonlocal`` a :class:`~amkit.attention.NonLocalBlock` (Wang et al. 2018)
after stage ``attention_stage`` (1-based; on 28x28 inputs stage 2 works at 14x14, N = 196
positions). Both start as the identity, so the network with the block starts as the one
without it. ``need_weights=True`` returns the block's ``(B, N, N)`` attention over the
positions of that stage's feature map, an ``h x w`` grid given by
:meth:`ImageCNN.position_grid`; with ``nonlocal_subsample`` the non-local block's keys are
the max-pooled ``ceil(h/2) x ceil(w/2)`` positions, so its weights are ``(B, N, N')``.

Legend: B batch, C classes, H/W image height/width, N positions of the attended map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.vision import NonLocalBlock, SelfAttention2d
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.base import ModelOutput, register_model


@dataclass
class ImageClassifierOutput(ModelOutput):
    """The output of the image classifiers (:class:`ImageCNN`, :class:`VisionTransformer`).

    Attributes:
        positions: ``(B, N, N)`` the CNN's self-attention block's weights over the positions
            of its feature map (row = query position ``r * w + c``), or for the vision
            Transformer ``(B, L, H, N, N)`` every layer's heads over the N patches. The
            positions lie on the ``h x w`` grid of the model's ``position_grid(H, W)``.
    """

    positions: Tensor | None = None


@dataclass
class ImageCNNConfig:
    """The residual CNN's options (see the module docstring)."""

    channels: list[int] = field(default_factory=lambda: [32, 64, 128])  # per stage
    blocks: int = option(1, ge=1)  # residual blocks per stage
    attention: Literal["none", "sagan", "nonlocal"] = "none"
    attention_stage: int = option(2, ge=1)  # the block goes after this stage (1-based)
    # the non-local block's keys and values max-pooled by 2 (the paper's cheaper variant)
    nonlocal_subsample: bool = False
    dropout: float = option(0.1, ge=0, lt=1)  # before the classifier
    label_smoothing: float = option(0.0, ge=0, lt=1)  # of the training loss
    # evaluation only: the logits are the mean of the image's and its mirror image's (test-time
    # augmentation with the training's horizontal flip); training is unchanged
    flip_tta: bool = False

    def validate(self) -> list[str]:
        problems = []
        if not self.channels or min(self.channels) < 1:
            problems.append(f"channels: expected a list of positive widths, got {self.channels}")
        elif self.attention_stage > len(self.channels):
            problems.append(
                f"attention_stage ({self.attention_stage}) must be <= the number of stages "
                f"({len(self.channels)})"
            )
        return problems


class BasicBlock(nn.Module):
    """``relu(x' + BN(conv(relu(BN(conv(x))))))`` with a strided 1x1 projection ``x'`` when
    the width or resolution changes (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


@register_model("image_cnn", ImageCNNConfig)
class ImageCNN(nn.Module):
    """Residual CNN for image classification with an optional SAGAN / non-local block."""

    def __init__(self, config: ImageCNNConfig, info: DataInfo):
        super().__init__()
        if info.image_shape is None:
            raise UserError("image_cnn needs image data (data.name: fashion_mnist or digits)")
        self.config = config
        in_channels = info.image_shape[0]
        widths = config.channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        self.stages = nn.ModuleList()
        c_in = widths[0]
        for i, width in enumerate(widths):
            blocks = [BasicBlock(c_in, width, 1 if i == 0 else 2)]
            blocks += [BasicBlock(width, width, 1) for _ in range(config.blocks - 1)]
            self.stages.append(nn.Sequential(*blocks))
            c_in = width
        width = widths[config.attention_stage - 1]
        self.attention: nn.Module | None = None
        if config.attention == "sagan":
            self.attention = SelfAttention2d(width)
        elif config.attention == "nonlocal":
            self.attention = NonLocalBlock(width, subsample=config.nonlocal_subsample)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(c_in, info.n_classes)
        # channels-last convolutions: about 20 % faster on a 2-core CPU (oneDNN), same results
        self.to(memory_format=torch.channels_last)

    def forward(
        self, images: Tensor, targets: Tensor | None = None, need_weights: bool = False
    ) -> ImageClassifierOutput:
        """images ``(B, C_in, H, W)`` (normalised), targets ``(B,)``."""
        pooled, weights = self._encode(images, need_weights)
        logits = self.head(self.drop(pooled))  # (B, C)
        if self.config.flip_tta and not self.training:
            mirrored, _ = self._encode(images.flip(-1), need_weights=False)
            logits = (logits + self.head(mirrored)) / 2  # (B, C)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets, label_smoothing=self.config.label_smoothing)
        return ImageClassifierOutput(logits, loss, positions=weights)

    def _encode(self, images: Tensor, need_weights: bool) -> tuple[Tensor, Tensor | None]:
        x = self.stem(images.contiguous(memory_format=torch.channels_last))
        weights = None
        for i, stage in enumerate(self.stages, start=1):
            x = stage(x)
            if self.attention is not None and i == self.config.attention_stage:
                x, weights = self.attention(x, need_weights=need_weights)
        return x.mean((2, 3)), weights  # (B, channels[-1])

    def features(self, images: Tensor) -> Tensor:
        """``(B, D)`` the pooled features the classifier's last layer reads (D the last
        stage's width): what the Fréchet distance of generated images is measured on."""
        return self._encode(images, False)[0]

    def position_grid(self, height: int, width: int) -> tuple[int, int]:
        """``(h, w)``: the grid of the attended feature map for ``height x width`` images
        (each stage after the first halves the size, rounding up)."""
        for _ in range(self.config.attention_stage - 1):
            height, width = (height + 1) // 2, (width + 1) // 2
        return height, width
