"""Attention blocks: score functions, single/multi-head attention, pooling, Transformer,
and self-attention over image feature maps (SAGAN, non-local)."""

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
from amkit.attention.vision import NonLocalBlock, SelfAttention2d

__all__ = [
    "SCORES",
    "Attention",
    "AttentionPooling",
    "MultiHeadAttention",
    "NonLocalBlock",
    "Score",
    "SelfAttention2d",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "causal_mask",
    "from_torch_mask",
    "make_score",
    "masked_softmax",
    "merge_masks",
    "padding_mask",
]
