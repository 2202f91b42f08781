"""Attention pooling: a sequence of vectors -> one vector plus the weights over time.

Legend: B batch, T time steps, D input width, A attention hidden width.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax
from amkit.errors import UserError


class AttentionPooling(nn.Module):
    """Additive attention with a learned context vector (Yang et al. 2016, HAN).

    ``e_t = v^T tanh(W h_t + b)``, ``a = softmax(e)`` over real steps, ``pooled = sum_t a_t h_t``.

    Args:
        input_dim: width D of the inputs.
        hidden_dim: width A of the scoring layer (defaults to ``input_dim``).
    """

    def __init__(self, input_dim: int, hidden_dim: int | None = None):
        super().__init__()
        hidden_dim = hidden_dim or input_dim
        self.proj = nn.Linear(input_dim, hidden_dim)
        self.context = nn.Linear(hidden_dim, 1, bias=False)

    def forward(
        self, inputs: Tensor, mask: Tensor | None = None, need_weights: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Pool ``inputs (B, T, D)`` with ``mask (B, T)`` (``True`` = real step).

        Returns ``(pooled (B, D), weights (B, T) or None)``; a sequence with no real step
        pools to zeros.
        """
        if inputs.dim() != 3:
            raise UserError(f"inputs must be (B, T, D), got {tuple(inputs.shape)}")
        if mask is not None and mask.dtype != torch.bool:
            raise TypeError(f"mask must be bool (True = real step), got {mask.dtype}")
        if mask is not None and mask.shape != inputs.shape[:2]:
            raise UserError(f"mask {tuple(mask.shape)} must be (B, T) = {tuple(inputs.shape[:2])}")
        scores = self.context(torch.tanh(self.proj(inputs))).squeeze(-1)  # (B, T)
        weights = masked_softmax(scores, mask)  # (B, T)
        pooled = (weights.unsqueeze(-1) * inputs).sum(dim=1)  # (B, D)
        return pooled, (weights if need_weights else None)
