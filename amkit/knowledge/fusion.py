"""Fusion of a text representation ``h`` with a knowledge representation ``k``.

- ``ConcatFusion``: ``h' = W [h; k] + b``.
- ``GatedFusion``: ``g = sigmoid(W [h; k] + b)``, ``h' = g * h + (1 - g) * k`` (element-wise
  gate; ``k`` is first projected to ``h``'s width when the widths differ).
- ``KnowledgeAttention``: each token attends over its own retrieved facts plus a "no
  knowledge" sentinel (after KBLSTM, Yang & Mitchell 2017) and adds what it read.

Both take any leading shape: ``h (..., D)``, ``k (..., Dk)`` -> ``(..., D)``; both return
``(output, gate or None)`` in the ``(output, weights)`` shape of the attention blocks.

Legend: B batch, T tokens, E facts per token, D text width, Dk knowledge width.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax
from amkit.errors import UserError


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

    def gate_parts(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(W_h (D, D), W_k (D, D), b (D,))`` with ``W [h; k] + b = h W_h^T + k W_k^T + b``
        (``k`` projected): a caller fusing one ``h`` with many ``k`` computes ``h W_h^T``
        once."""
        dim = self.gate.out_features
        return self.gate.weight[:, :dim], self.gate.weight[:, dim:], self.gate.bias


class KnowledgeAttention(nn.Module):
    """Attention of each token over its candidate facts and a sentinel (KBLSTM).

    With ``v_e`` the fact vectors of token ``t`` and the sentinel ``s_t = tanh(W_s h_t +
    b_s)`` (KBLSTM derives it from the LSTM cell; here from the token state, so any encoder
    can use it): ``score(v) = v^T W h_t``; ``[alpha, beta] = softmax`` over the allowed facts
    and the sentinel; ``m_t = sum_e alpha_e v_e + beta s_t``; ``h'_t = h_t + W_o m_t + b_o``.
    A token with no fact puts all its weight on the sentinel: "no knowledge here" is
    something the model says, not a NaN. Padded tokens (``token_mask`` False) get zero
    weights and ``h'_t = h_t``.

    Deviation from the paper: KBLSTM mixes ``h`` and ``m`` inside its LSTM output; here the
    read is added residually after any encoder.
    """

    def __init__(self, dim: int, knowledge_dim: int):
        super().__init__()
        self.query = nn.Linear(dim, knowledge_dim, bias=False)  # W in v^T W h
        self.sentinel = nn.Linear(dim, knowledge_dim)  # W_s, b_s
        self.out = nn.Linear(knowledge_dim, dim)  # W_o, b_o

    def forward(
        self,
        h: Tensor,
        facts: Tensor,
        fact_mask: Tensor,
        token_mask: Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Read each token's facts.

        Args:
            h: ``(B, T, D)`` token states.
            facts: ``(B, T, E, Dk)`` fact (or sense) vectors per token.
            fact_mask: ``(B, T, E)`` bool, True = a real fact.
            token_mask: ``(B, T)`` bool, True = a real token (default: all real).
            need_weights: also return the weights.

        Returns:
            ``(h' (B, T, D), weights (B, T, E + 1) or None)``; the last weight column is
            the sentinel's.
        """
        b, t, _ = h.shape
        if facts.shape[:2] != (b, t) or fact_mask.shape != facts.shape[:3]:
            raise UserError(
                f"facts {tuple(facts.shape)} must be (B, T, E, Dk) and fact_mask "
                f"{tuple(fact_mask.shape)} (B, T, E) for h {tuple(h.shape)}"
            )
        sentinel = torch.tanh(self.sentinel(h))  # (B, T, Dk)
        candidates = torch.cat([facts, sentinel.unsqueeze(2)], dim=2)  # (B, T, E+1, Dk)
        allowed = torch.cat([fact_mask.bool(), fact_mask.new_ones(b, t, 1, dtype=torch.bool)], 2)
        if token_mask is not None:
            allowed = allowed & token_mask.bool().unsqueeze(-1)  # (B, T, E+1)
        scores = torch.einsum("btek,btk->bte", candidates, self.query(h))  # (B, T, E+1)
        weights = masked_softmax(scores, allowed)  # (B, T, E+1)
        read = torch.einsum("bte,btek->btk", weights, candidates)  # (B, T, Dk)
        update = self.out(read)  # (B, T, D)
        if token_mask is not None:
            update = update * token_mask.unsqueeze(-1).to(update.dtype)
        return h + update, (weights if need_weights else None)


def _check_leading(h: Tensor, k: Tensor) -> None:
    if h.shape[:-1] != k.shape[:-1]:
        raise UserError(
            f"text {tuple(h.shape)} and knowledge {tuple(k.shape)} must agree on every "
            "dimension but the last"
        )
