"""A small self-attention GAN for grayscale images (SAGAN, Zhang et al. 2019, scaled down).

Generator: ``z (B, Z)`` -> linear -> ``(4c, H/4, W/4)`` -> upsample + 3x3 conv to ``2c`` at
``H/2`` -> [:class:`~amkit.attention.SelfAttention2d`] -> upsample + conv to ``c`` at ``H``
-> 3x3 conv -> tanh, pixels in [-1, 1]. Discriminator: 3x3 conv ``c`` at ``H`` -> strided
conv ``2c`` at ``H/2`` -> [self-attention] -> strided conv ``4c`` at ``H/4`` -> sum over
positions -> linear -> one score. As the paper: spectral normalisation (Miyato et al. 2018)
on every layer of both networks, batch norm in the generator, the hinge loss
(:func:`hinge_losses`), and the block at the same middle resolution in both.
``attention: false`` gives the same GAN without the block.

Deviations: far smaller (28x28 grayscale, ``channels`` 32 by default), no class
conditioning, nearest-neighbour upsampling, no max-pooling inside the block.

Legend: B batch, Z latent width, c ``channels``, H/W image size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from amkit.attention.vision import SelfAttention2d
from amkit.config import option
from amkit.errors import UserError


@dataclass
class GANConfig:
    """The GAN's sizes; ``attention`` switches the self-attention block in both networks."""

    latent: int = option(64, ge=1)  # Z
    channels: int = option(32, ge=8)  # c (the block's keys are c/4 wide at 2c channels)
    attention: bool = True


def _sn_conv(c_in: int, c_out: int, stride: int = 1) -> nn.Module:
    return spectral_norm(nn.Conv2d(c_in, c_out, 3, stride, 1))


def _check_size(height: int, width: int) -> None:
    if height % 4 or width % 4:
        raise UserError(f"the GAN needs image sides divisible by 4, got {height}x{width}")


class Generator(nn.Module):
    """``z (B, Z)`` -> images ``(B, 1, H, W)`` in [-1, 1] (see the module docstring)."""

    def __init__(self, config: GANConfig, height: int, width: int):
        super().__init__()
        _check_size(height, width)
        c = config.channels
        self.base = (4 * c, height // 4, width // 4)
        self.project = spectral_norm(nn.Linear(config.latent, 4 * c * height * width // 16))
        self.bn0 = nn.BatchNorm2d(4 * c)
        self.up1 = _sn_conv(4 * c, 2 * c)
        self.bn1 = nn.BatchNorm2d(2 * c)
        self.attention = SelfAttention2d(2 * c) if config.attention else None
        self.up2 = _sn_conv(2 * c, c)
        self.bn2 = nn.BatchNorm2d(c)
        self.out = _sn_conv(c, 1)

    def forward(self, z: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """``(images (B, 1, H, W), block weights (B, N, N) at H/2 x W/2 or None)``."""
        x = F.relu(self.bn0(self.project(z).view(len(z), *self.base)))  # (B, 4c, H/4, W/4)
        x = F.relu(self.bn1(self.up1(F.interpolate(x, scale_factor=2))))  # (B, 2c, H/2, W/2)
        weights = None
        if self.attention is not None:
            x, weights = self.attention(x, need_weights=need_weights)
        x = F.relu(self.bn2(self.up2(F.interpolate(x, scale_factor=2))))  # (B, c, H, W)
        return torch.tanh(self.out(x)), weights


class Discriminator(nn.Module):
    """images ``(B, 1, H, W)`` -> scores ``(B,)`` (higher: more real)."""

    def __init__(self, config: GANConfig, height: int, width: int):
        super().__init__()
        _check_size(height, width)
        c = config.channels
        self.conv1 = _sn_conv(1, c)
        self.conv2 = _sn_conv(c, 2 * c, 2)
        self.attention = SelfAttention2d(2 * c) if config.attention else None
        self.conv3 = _sn_conv(2 * c, 4 * c, 2)
        self.head = spectral_norm(nn.Linear(4 * c, 1))

    def forward(self, images: Tensor) -> Tensor:
        x = F.leaky_relu(self.conv1(images), 0.1)
        x = F.leaky_relu(self.conv2(x), 0.1)  # (B, 2c, H/2, W/2)
        if self.attention is not None:
            x, _ = self.attention(x)
        x = F.leaky_relu(self.conv3(x), 0.1)  # (B, 4c, H/4, W/4)
        return self.head(x.sum((2, 3))).squeeze(1)  # (B,)


def hinge_losses(real_scores: Tensor, fake_scores: Tensor) -> tuple[Tensor, Tensor]:
    """The discriminator's hinge loss ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` and the
    generator's ``-E[D(G(z))]`` (Lim & Ye 2017, as SAGAN). ``fake_scores`` must be computed
    with the generator's graph for the generator's loss to have gradients."""
    d_loss = F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()
    return d_loss, -fake_scores.mean()
