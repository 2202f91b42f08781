"""A small attention model for the associative-recall demo task.

The sequence is encoded (embedding + bidirectional GRU, or a Transformer encoder), the query
key's embedding attends over the encoded sequence with a chosen score function, and the
context predicts the value. Attention weights ``(B, T)`` come back as
:class:`RecallOutput`'s ``query``.

Legend: B batch, T sequence length, D d_model, C classes (values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention import SCORES, Attention, TransformerEncoder
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.models.base import ModelOutput, register_model


@dataclass
class RecallOutput(ModelOutput):
    """:class:`RecallAttention`'s output.

    Attributes:
        query: ``(B, T)`` the query key's attention over the sequence; with ``need_weights``.
    """

    query: Tensor | None = None


@dataclass
class RecallModelConfig:
    """Defaults: the demo's model (a BiGRU encoder, the general score, d = 64)."""

    d_model: int = option(64, ge=2)
    encoder: Literal["gru", "transformer", "none"] = "gru"
    score: str = option("general", choices=SCORES.keys)
    n_heads: int = option(4, ge=1)  # transformer encoder only
    n_layers: int = option(1, ge=1)  # transformer encoder only
    dropout: float = option(0.1, ge=0, lt=1)

    def validate(self) -> list[str]:
        if self.encoder == "gru" and self.d_model % 2:
            return [f"d_model ({self.d_model}) must be even for the bidirectional GRU encoder"]
        if self.encoder == "transformer" and self.d_model % self.n_heads:
            return [f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"]
        return []


@register_model("recall_attention", config=RecallModelConfig)
class RecallAttention(nn.Module):
    """``forward(tokens (B, T), query (B,), targets=None, need_weights=False)``: the query
    key attends over the encoded sequence; logits ``(B, C)`` over the values."""

    def __init__(self, config: RecallModelConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        d = config.d_model
        self.embed = nn.Embedding(data_info.vocab_size, d, padding_idx=0)
        if config.encoder == "gru":
            self.gru = nn.GRU(d, d // 2, batch_first=True, bidirectional=True)
        elif config.encoder == "transformer":
            self.position = nn.Parameter(torch.zeros(data_info.max_len, d))
            self.transformer = TransformerEncoder(
                d, config.n_heads, config.n_layers, dropout=config.dropout
            )
        self.attention = Attention(config.score, query_dim=d, dropout=0.0)
        self.out = nn.Sequential(
            nn.Linear(2 * d, d),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(d, data_info.n_classes),
        )

    def encode(self, tokens: Tensor) -> Tensor:
        x = self.embed(tokens)  # (B, T, D)
        if self.config.encoder == "gru":
            x, _ = self.gru(x)  # (B, T, D)
        elif self.config.encoder == "transformer":
            x = x + self.position[: x.shape[1]]
            x, _ = self.transformer(x, valid_keys=tokens != 0)
        return x

    def forward(
        self,
        tokens: Tensor,
        query: Tensor,
        targets: Tensor | None = None,
        need_weights: bool = False,
    ) -> RecallOutput:
        """tokens ``(B, T)``, query ``(B,)`` token ids, targets ``(B,)`` value classes."""
        memory = self.encode(tokens)  # (B, T, D)
        q = self.embed(query)  # (B, D)
        context, weights = self.attention(
            q, memory, mask=tokens != 0, need_weights=need_weights
        )  # (B, D), (B, T)
        logits = self.out(torch.cat([context, q], dim=-1))  # (B, C)
        loss = F.cross_entropy(logits, targets) if targets is not None else None
        return RecallOutput(logits=logits, loss=loss, query=weights)
