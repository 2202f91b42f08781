"""Self-attention over the positions of a feature map: the SAGAN block and the non-local block.

Both take ``x (B, C, H, W)``, let every position attend to every other one (N = H * W
positions, a softmax over all of them) and add what they read to ``x`` through a gate that
starts closed, so a block inserted into a network is the identity at initialisation and the
network learns how much non-local evidence to use. Both return ``(out, weights)`` like
:class:`~amkit.attention.MultiHeadAttention`: ``weights`` is ``(B, N, N)`` (row = query
position ``r * W + c``, column = key position; rows sum to 1) when ``need_weights=True``,
else ``None``. Without weights the fused kernel (SDPA) runs; with them the explicit path
runs; both give the same output.

Legend: B batch, C channels, H height, W width, N = H * W positions, K key/query channels,
V value channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.errors import UserError


def _attend(q: Tensor, k: Tensor, v: Tensor, need_weights: bool) -> tuple[Tensor, Tensor | None]:
    """Unscaled dot-product attention of ``q (B, N, K)`` over ``k (B, M, K)``, ``v (B, M, V)``:
    ``(B, N, V)`` and the ``(B, N, M)`` weights when asked (softmax in float32)."""
    if not need_weights:
        return F.scaled_dot_product_attention(q, k, v, scale=1.0), None
    scores = torch.bmm(q.float(), k.float().transpose(1, 2))  # (B, N, M)
    weights = scores.softmax(-1).to(q.dtype)
    return torch.bmm(weights, v), weights


class SelfAttention2d(nn.Module):
    """The self-attention block of SAGAN (Zhang, Goodfellow, Metaxas & Odena 2019,
    "Self-Attention Generative Adversarial Networks", section 3).

    With 1x1 convolutions ``f(x) = W_f x``, ``g(x) = W_g x`` (``key_channels`` = C/8),
    ``h(x) = W_h x`` and ``v(x) = W_v x`` (``value_channels``, C/8 in the paper, back to C
    through ``v``)::

        s_ij   = f(x_i)^T g(x_j)
        beta_ji = exp(s_ij) / sum_i exp(s_ij)        # position j attends to position i
        o_j    = v( sum_i beta_ji h(x_i) )
        y_j    = gamma * o_j + x_j                   # gamma: a learned scalar, 0 at init

    The paper's convolutions have no bias; neither do these. ``weights[b, j, i]`` is
    ``beta_ji``. Deviation: none from the paper's equations (its released code also
    max-pools the keys and values and widens ``h`` to C/2, a memory saving left out here).

    Args:
        channels: C, the input's channels.
        key_channels: K for ``f`` and ``g``; default ``max(1, C // 8)``.
        value_channels: V for ``h``; default ``max(1, C // 8)`` as the paper.
    """

    def __init__(
        self, channels: int, key_channels: int | None = None, value_channels: int | None = None
    ):
        super().__init__()
        if channels < 1:
            raise UserError(f"SelfAttention2d: channels must be >= 1, got {channels}")
        k = key_channels or max(1, channels // 8)
        v = value_channels or max(1, channels // 8)
        self.f = nn.Conv2d(channels, k, 1, bias=False)  # keys (positions attended to)
        self.g = nn.Conv2d(channels, k, 1, bias=False)  # queries (positions attending)
        self.h = nn.Conv2d(channels, v, 1, bias=False)
        self.v = nn.Conv2d(v, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """``x (B, C, H, W)`` -> ``(y (B, C, H, W), weights (B, N, N) or None)``."""
        B, C, H, W = x.shape
        keys = self.f(x).flatten(2).transpose(1, 2)  # (B, N, K)
        queries = self.g(x).flatten(2).transpose(1, 2)  # (B, N, K)
        values = self.h(x).flatten(2).transpose(1, 2)  # (B, N, V)
        read, weights = _attend(queries, keys, values, need_weights)  # (B, N, V)
        o = self.v(read.transpose(1, 2).reshape(B, -1, H, W))  # (B, C, H, W)
        return self.gamma * o + x, weights


class NonLocalBlock(nn.Module):
    """The non-local block of Wang, Girshick, Gupta & He 2018 ("Non-local Neural Networks"),
    embedded-Gaussian version, for images.

    With 1x1 convolutions ``theta``, ``phi``, ``g`` (``inner_channels``, C/2 as the paper) and
    ``W_z`` (back to C) followed by batch normalisation::

        f(x_i, x_j) = exp(theta(x_i)^T phi(x_j))
        y_i = sum_j f(x_i, x_j) g(x_j) / sum_j f(x_i, x_j)    # a softmax over j
        z_i = BN(W_z y_i) + x_i

    The BN's scale is initialised to 0 (the paper's section 4.1), so the block starts as the
    identity. ``subsample=True`` max-pools ``phi`` and ``g`` by 2 (the paper's cheaper
    variant): the keys are then the N/4 pooled positions. Without subsampling the weights
    are ``(B, N, N)``; with it ``(B, N, N')``, N' = ceil(H/2) * ceil(W/2) pooled positions.

    Args:
        channels: C.
        inner_channels: the embedding width; default ``max(1, C // 2)``.
        subsample: max-pool the keys and values by 2.
    """

    def __init__(self, channels: int, inner_channels: int | None = None, subsample: bool = False):
        super().__init__()
        if channels < 1:
            raise UserError(f"NonLocalBlock: channels must be >= 1, got {channels}")
        inner = inner_channels or max(1, channels // 2)
        self.theta = nn.Conv2d(channels, inner, 1)
        self.phi = nn.Conv2d(channels, inner, 1)
        self.g = nn.Conv2d(channels, inner, 1)
        self.w_z = nn.Conv2d(inner, channels, 1)
        self.bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.bn.weight)  # the block starts as the identity
        self.subsample = subsample

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """``x (B, C, H, W)`` -> ``(z (B, C, H, W), weights (B, N, N') or None)``."""
        B, C, H, W = x.shape
        source = F.max_pool2d(x, 2, ceil_mode=True) if self.subsample else x
        queries = self.theta(x).flatten(2).transpose(1, 2)  # (B, N, K)
        keys = self.phi(source).flatten(2).transpose(1, 2)  # (B, N', K)
        values = self.g(source).flatten(2).transpose(1, 2)  # (B, N', K)
        y, weights = _attend(queries, keys, values, need_weights)  # (B, N, K)
        z = self.bn(self.w_z(y.transpose(1, 2).reshape(B, -1, H, W)))  # (B, C, H, W)
        return z + x, weights
