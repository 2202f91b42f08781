"""Attention blocks: score functions, single/multi-head attention, pooling, Transformer."""

from amkit.attention.masks import (
    causal_mask,
    from_torch_mask,
    masked_softmax,
    merge_masks,
    padding_mask,
)
from amkit.attention.multihead import MultiHeadAttention
from amkit.attention.pooling import AttentionPooling
from amkit.attention.scores import SCORES, Attention, Score, make_score
from amkit.attention.transformer import TransformerEncoder, TransformerEncoderLayer

__all__ = [
    "SCORES",
    "Attention",
    "AttentionPooling",
    "MultiHeadAttention",
    "Score",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "causal_mask",
    "from_torch_mask",
    "make_score",
    "masked_softmax",
    "merge_masks",
    "padding_mask",
]
