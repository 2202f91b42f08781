"""SASRec (Kang & McAuley 2018): self-attentive sequential recommendation.

``seq (B, L)`` item ids, left-padded with 0 -> item embeddings (scaled by sqrt(d), as the
authors' code) + learned positions -> ``n_blocks`` causal self-attention blocks (the
authors' layout: ``Q = LayerNorm(x)``, keys and values ``x``; residual; LayerNorm;
point-wise feed-forward; residual; padding zeroed after each step) -> final LayerNorm ->
``h_t``. The score of item ``i`` after step ``t`` is ``h_t . E_i`` with the same item
embedding matrix ``E`` as the input (shared).

Training (``pos (B, L)`` given): binary cross-entropy with one sampled negative per
position, ``-log s(h_t . E_pos) - log(1 - s(h_t . E_neg))`` over real positions
(:func:`bce_loss`); the negative
is drawn uniformly from the items not in the row's sequence (as the authors' sampler). The
returned logits are ``(0, mean margin of positives over negatives)`` per sequence, so the
trainer's accuracy (target 1) is the share of sequences whose positives win.
Evaluation (``candidates (B, C)`` given): ``logits = h_last . E_candidates``; with the
target first in each row (``targets = 0``), ``amkit.train.ranking`` turns them into HR@K and
NDCG@K.

Legend: B batch, L positions (``max_len``), D ``d_model``, C candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention import MultiHeadAttention
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.base import ModelOutput, register_model


def sample_negatives(n_items: int, seq: Tensor, pos: Tensor, generator=None) -> Tensor:
    """``(B, L)`` items drawn uniformly from ``1..n_items`` minus the row's ``seq`` and ``pos``."""
    seen = torch.cat([seq, pos], dim=1).sort(dim=1).values  # (B, 2L)
    neg = torch.randint(1, n_items + 1, pos.shape, generator=generator, device=pos.device)
    for _ in range(100):  # redraw the collisions; a handful of rounds suffices
        at = torch.searchsorted(seen, neg).clamp(max=seen.shape[1] - 1)  # (B, L)
        clash = seen.gather(1, at) == neg
        if not clash.any():
            break
        neg[clash] = torch.randint(
            1, n_items + 1, (int(clash.sum()),), generator=generator, device=pos.device
        )
    return neg


def ranking_output(scores: Tensor, targets: Tensor | None) -> ModelOutput:
    """Candidate scores ``(B, C)`` as logits; cross-entropy against the target's column."""
    loss = F.cross_entropy(scores, targets) if targets is not None else None
    return ModelOutput(logits=scores, loss=loss)


@dataclass
class SASRecOutput(ModelOutput):
    """:class:`SASRec`'s output: candidate scores ``(B, C)`` when ranking, else the training
    margins ``(B, 2)`` (:func:`margin_logits`).

    Attributes:
        blocks: ``(B, N, H, L, L)`` each block's causal self-attention over the sequence;
            with ``need_weights``.
    """

    blocks: Tensor | None = None


def bce_loss(pos_scores: Tensor, neg_scores: Tensor, real: Tensor) -> Tensor:
    """SASRec's loss: ``-log s(pos) - log(1 - s(neg))``, each averaged over the real positions
    (``(B, L)`` scores, ``real (B, L)`` bool)."""
    pos, neg = pos_scores[real], neg_scores[real]
    return F.binary_cross_entropy_with_logits(
        pos, torch.ones_like(pos)
    ) + F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg))


def margin_logits(pos_scores: Tensor, neg_scores: Tensor, real: Tensor) -> Tensor:
    """Per sequence, logits ``(0, mean margin of positives over negatives)`` ``(B, 2)``: with
    target 1 the trainer's "accuracy" is the share of sequences whose positives win."""
    margin = (pos_scores - neg_scores) * real
    mean_margin = margin.sum(1) / real.sum(1).clamp(min=1)  # (B,)
    return torch.stack([torch.zeros_like(mean_margin), mean_margin], dim=-1)  # (B, 2)


@dataclass
class SASRecConfig:
    """Defaults: the paper's ML-1M setting (d 50, 2 blocks, 1 head, dropout 0.2, L 200)."""

    d_model: int = option(50, ge=1)
    n_blocks: int = option(2, ge=1)
    n_heads: int = option(1, ge=1)
    dropout: float = option(0.2, ge=0, lt=1)
    # dropout on the attention weights (the authors' code: = dropout). Any value above 0
    # sends CPU training to the unfused attention kernel: 0 is about 1.6x faster per batch
    attention_dropout: float | None = option(None, ge=0, lt=1)
    # "embeddings": Xavier-normal item and position tables, PyTorch's default for the linear
    # maps; "xavier": every weight matrix Xavier-normal, as the authors' code (glorot for its
    # dense layers) and the PyTorch port (xavier_normal_ on every matrix)
    init: Literal["embeddings", "xavier"] = "embeddings"


class SASRecBlock(nn.Module):
    def __init__(
        self, d: int, n_heads: int, dropout: float, attention_dropout: float | None = None
    ):
        super().__init__()
        self.attn_norm = nn.LayerNorm(d, eps=1e-8)
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        self.attn = MultiHeadAttention(d, n_heads, dropout=attention_dropout)
        self.ffn_norm = nn.LayerNorm(d, eps=1e-8)
        self.ffn = nn.Sequential(
            nn.Linear(d, d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d, d), nn.Dropout(dropout)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: Tensor, real: Tensor, need_weights: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """``x (B, L, D)``, ``real (B, L)`` bool -> ``(B, L, D)``, weights ``(B, H, L, L)``."""
        q = self.attn_norm(x)
        out, weights = self.attn(
            q, x, x, valid_keys=real, is_causal=True, need_weights=need_weights
        )
        x = q + self.dropout(out)
        x = self.ffn_norm(x)
        x = x + self.ffn(x)
        return x * real.unsqueeze(-1), weights


@register_model("sasrec", config=SASRecConfig)
class SASRec(nn.Module):
    """``forward(seq, pos=None, candidates=None, targets=None)``."""

    def __init__(self, config: SASRecConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        self.n_items = data_info.n_items
        d = config.d_model
        self.items = nn.Embedding(self.n_items + 1, d, padding_idx=0)
        self.positions = nn.Embedding(data_info.max_len, d)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            SASRecBlock(d, config.n_heads, config.dropout, config.attention_dropout)
            for _ in range(config.n_blocks)
        )
        self.final_norm = nn.LayerNorm(d, eps=1e-8)
        # small embeddings, as the authors' Xavier initialisation: with N(0, 1) rows scaled
        # by sqrt(d), the first scores are in the tens and the BCE saturates
        for table in (self.items, self.positions):
            nn.init.xavier_normal_(table.weight)
        if config.init == "xavier":
            for weight in self.blocks.parameters():
                if weight.dim() == 2:  # the matrices (norms and biases are vectors)
                    nn.init.xavier_normal_(weight)
        with torch.no_grad():
            self.items.weight[0].zero_()

    def encode(self, seq: Tensor) -> Tensor:
        """``seq (B, L)`` -> ``h (B, L, D)``; ``h_t`` has seen items ``<= t`` only."""
        return self.encode_vectors(self.items(seq), seq != 0)

    def encode_vectors(self, items: Tensor, real: Tensor) -> Tensor:
        """The blocks over given item vectors ``(B, L, D)`` (``real (B, L)``) -> ``(B, L, D)``."""
        return self.encode_with_weights(items, real, need_weights=False)[0]

    def encode_with_weights(
        self, items: Tensor, real: Tensor, need_weights: bool = True
    ) -> tuple[Tensor, list[Tensor]]:
        """``encode_vectors`` plus each block's attention ``(B, H, L, L)`` when asked."""
        x = items * self.config.d_model**0.5
        x = x + self.positions(torch.arange(items.shape[1], device=items.device))
        x = self.dropout(x) * real.unsqueeze(-1)
        weights = []
        for block in self.blocks:
            x, w = block(x, real, need_weights)
            if w is not None:
                weights.append(w)
        return self.final_norm(x), weights

    def sample_negatives(self, seq: Tensor, pos: Tensor, generator=None) -> Tensor:
        return sample_negatives(self.n_items, seq, pos, generator)

    def score_items(self, seq: Tensor, user: Tensor | None = None) -> Tensor:
        """``(B, I + 1)`` the score of every item id after the last position (full ranking)."""
        return self.encode(seq)[:, -1] @ self.items.weight.T

    def forward(
        self,
        seq: Tensor,
        pos: Tensor | None = None,
        candidates: Tensor | None = None,
        targets: Tensor | None = None,
        user: Tensor | None = None,  # SASRec knows users only by their sequences
        need_weights: bool = False,
    ) -> SASRecOutput:
        """``seq (B, L)`` item ids (0 = padding, left); ranking: ``candidates (B, C)``,
        ``targets (B,)``; training: the next items ``pos (B, L)``."""
        h, weights = self.encode_with_weights(self.items(seq), seq != 0, need_weights)
        blocks = torch.stack(weights, 1) if need_weights else None  # (B, N, H, L, L)
        if candidates is not None:  # ranking: the last position scores the candidates
            logits = torch.einsum("bd,bcd->bc", h[:, -1], self.items(candidates))  # (B, C)
            loss = F.cross_entropy(logits, targets) if targets is not None else None
            return SASRecOutput(logits, loss, blocks=blocks)
        if pos is None:
            raise UserError("give pos (B, L) for training or candidates (B, C) for ranking")
        neg = self.sample_negatives(seq, pos)
        real = pos != 0
        pos_scores = (h * self.items(pos)).sum(-1)  # (B, L)
        neg_scores = (h * self.items(neg)).sum(-1)
        return SASRecOutput(
            logits=margin_logits(pos_scores, neg_scores, real),
            loss=bce_loss(pos_scores, neg_scores, real),
            blocks=blocks,
        )


__all__ = [
    "SASRec",
    "SASRecConfig",
    "SASRecOutput",
    "bce_loss",
    "margin_logits",
    "ranking_output",
    "sample_negatives",
]
