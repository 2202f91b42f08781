"""Fusion of a text representation ``h`` with a knowledge representation ``k``.

- ``ConcatFusion``: ``h' = W [h; k] + b``.
- ``GatedFusion``: ``g = sigmoid(W [h; k] + b)``, ``h' = g * h + (1 - g) * k`` (element-wise
  gate; ``k`` is first projected to ``h``'s width when the widths differ).

Both take any leading shape: ``h (..., D)``, ``k (..., Dk)`` -> ``(..., D)``; both return
``(output, gate or None)`` in the ``(output, weights)`` shape of the attention blocks.

Legend: D text width, Dk knowledge width.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ConcatFusion(nn.Module):
    """``h' = W [h; k] + b``: the plain baseline every other fusion is compared with."""

    def __init__(self, dim: int, knowledge_dim: int):
        super().__init__()
        self.proj = nn.Linear(dim + knowledge_dim, dim)

    def forward(self, h: Tensor, k: Tensor, need_weights: bool = False) -> tuple[Tensor, None]:
        """``h (..., D)``, ``k (..., Dk)`` -> ``((..., D), None)``."""
        _check_leading(h, k)
        return self.proj(torch.cat([h, k], dim=-1)), None  # (..., D)


class GatedFusion(nn.Module):
    """``g = sigmoid(W [h; k] + b)``, ``h' = g * h + (1 - g) * k``.

    ``need_weights=True`` also returns the gate ``g (..., D)``: 1 keeps the text, 0 takes
    the knowledge.
    """

    def __init__(self, dim: int, knowledge_dim: int | None = None):
        super().__init__()
        knowledge_dim = dim if knowledge_dim is None else knowledge_dim
        self.knowledge_proj = (
            nn.Linear(knowledge_dim, dim, bias=False) if knowledge_dim != dim else nn.Identity()
        )
        self.gate = nn.Linear(2 * dim, dim)

    def forward(
        self, h: Tensor, k: Tensor, need_weights: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """``h (..., D)``, ``k (..., Dk)`` -> ``((..., D), gate (..., D) or None)``."""
        _check_leading(h, k)
        k = self.knowledge_proj(k)  # (..., D)
        g = torch.sigmoid(self.gate(torch.cat([h, k], dim=-1)))  # (..., D)
        return g * h + (1 - g) * k, (g if need_weights else None)


def _check_leading(h: Tensor, k: Tensor) -> None:
    if h.shape[:-1] != k.shape[:-1]:
        raise ValueError(
            f"text {tuple(h.shape)} and knowledge {tuple(k.shape)} must agree on every "
            "dimension but the last"
        )
