"""Recommendation baselines users compare against: most-popular and BPR matrix factorisation.

Both read the ``sequences`` dataset like SASRec and are ranked by the same ``evaluate``
(100 sampled negatives, and all items through ``score_items``).

- ``popularity``: an item's score is its number of training interactions; nothing to learn
  (the trainer evaluates it once).
- ``bpr``: BPR-MF (Rendle et al. 2009): ``x_ui = p_u . q_i + b_i``, trained on every
  (user, item) training interaction against one item the user never had, with the loss
  ``-log sigmoid(x_ui - x_uj)``; L2 through ``train.weight_decay``.

Legend: B batch, L positions, I items, U users, D width, C candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.base import ModelOutput, register_model
from amkit.models.seqrec import margin_logits, ranking_output, sample_negatives


@dataclass
class PopularityConfig:
    """Most-popular has no settings."""


@register_model("popularity", config=PopularityConfig)
class Popularity(nn.Module):
    """Scores every item by its training count; the same list for every user."""

    def __init__(self, config: PopularityConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        self.register_buffer("counts", torch.as_tensor(data_info.item_counts).float())

    def score_items(self, seq: Tensor, user: Tensor | None = None) -> Tensor:
        """``(B, I + 1)``."""
        return self.counts.expand(seq.shape[0], -1)

    def forward(self, seq, pos=None, candidates=None, targets=None, user=None,
                need_weights=False) -> ModelOutput:  # fmt: skip
        if candidates is None:
            raise UserError("popularity ranks candidates (B, C); it has nothing to train")
        return ranking_output(self.counts[candidates], targets)  # (B, C)


@dataclass
class BPRConfig:
    """BPR-MF; ``d_model`` 50 to match SASRec's width (the paper sweeps it)."""

    d_model: int = option(50, ge=1)
    init_std: float = option(0.01, gt=0)


@register_model("bpr", config=BPRConfig)
class BPRMF(nn.Module):
    """``forward(seq, pos=None, candidates=None, targets=None, user=None)``; needs ``user``."""

    def __init__(self, config: BPRConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        self.n_items = data_info.n_items
        self.users = nn.Embedding(data_info.n_users + 1, config.d_model)
        self.items = nn.Embedding(self.n_items + 1, config.d_model, padding_idx=0)
        self.item_bias = nn.Embedding(self.n_items + 1, 1, padding_idx=0)
        for table in (self.users, self.items):
            nn.init.normal_(table.weight, std=config.init_std)
        nn.init.zeros_(self.item_bias.weight)

    def score(self, user: Tensor, items: Tensor) -> Tensor:
        """``user (B,)``, ``items (B, C)`` -> ``(B, C)``."""
        return (self.users(user).unsqueeze(1) * self.items(items)).sum(-1) + self.item_bias(
            items
        ).squeeze(-1)

    def score_items(self, seq: Tensor, user: Tensor | None = None) -> Tensor:
        """``(B, I + 1)`` every item for each user."""
        if user is None:
            raise UserError("bpr scores users: the batch needs a `user` column")
        return self.users(user) @ self.items.weight.T + self.item_bias.weight.T

    def forward(self, seq, pos=None, candidates=None, targets=None, user=None,
                need_weights=False) -> ModelOutput:  # fmt: skip
        if user is None:
            raise UserError("bpr needs user ids: use the `sequences` dataset")
        if candidates is not None:
            return ranking_output(self.score(user, candidates), targets)
        if pos is None:
            raise UserError("give pos (B, L) for training or candidates (B, C) for ranking")
        # every training interaction of the row's user is a positive: pos, and seq's first item
        first = seq.gather(1, (seq != 0).int().argmax(1, keepdim=True))  # (B, 1)
        positives = torch.cat([first, pos], dim=1)  # (B, L + 1)
        real = positives != 0
        neg = sample_negatives(self.n_items, seq, positives)
        pos_scores, neg_scores = self.score(user, positives), self.score(user, neg)  # (B, L + 1)
        loss = -F.logsigmoid((pos_scores - neg_scores)[real]).mean()
        return ModelOutput(logits=margin_logits(pos_scores, neg_scores, real), loss=loss)
