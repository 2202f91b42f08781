"""The integrated model's first stages: words -> knowledge fused into each word -> one
vector per sequence (:class:`SequenceEncoder`), with the per-word knowledge of
:class:`TokenKnowledge`. The options are :class:`~amkit.models.integrated.IntegratedConfig`'s.

Legend: N sequences, L words, D ``d_model``, E facts per word, Dk knowledge width, V vocabulary.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from amkit.attention.pooling import AttentionPooling
from amkit.encoders import CNNEncoder, RNNEncoder
from amkit.knowledge.fusion import ConcatFusion, GatedFusion, KnowledgeAttention
from amkit.knowledge.tables import vocabulary_knowledge
from amkit.memory.memn2n import position_encoding_weights

if TYPE_CHECKING:
    from amkit.models.integrated import IntegratedConfig

log = logging.getLogger("amkit")


class TokenKnowledge(nn.Module):
    """Knowledge per vocabulary word, applied to word vectors ``x (..., L, D)``."""

    def __init__(self, config: IntegratedConfig, vocab: list[str], dim: int):
        super().__init__()
        self.kind = config.knowledge
        if self.kind == "kb":
            from amkit.knowledge.base import KnowledgeBase
            from amkit.knowledge.tables import fact_table

            kb = KnowledgeBase.from_file(config.knowledge_path)
            table, found = fact_table(vocab, kb, config.max_facts)  # (V, E, 2)
            self.relations = nn.Embedding(2 * len(kb.relations) + 1, dim, padding_idx=0)
            self.entities = nn.Embedding(len(kb.entities) + 1, dim, padding_idx=0)
            self.attend = KnowledgeAttention(dim, dim)
            self.fusion = None
            inverse = [f"{r}^-1" for r in kb.relations]
            self.relation_names = ["", *kb.relations, *inverse]  # for explanations
            self.entity_names = ["", *kb.entities]
        else:
            table, concepts, found = vocabulary_knowledge(
                self.kind,
                vocab,
                config.lexicons,
                config.knowledge_path,
                config.knowledge_path,
                config.max_facts,
            )
            d_k = dim if concepts is not None else table.shape[1]
            if concepts is not None:
                self.concepts = nn.Embedding(len(concepts), dim, padding_idx=0)
            fusion = ConcatFusion if config.fusion == "concat" else GatedFusion
            self.fusion = fusion(dim, d_k)
        self.register_buffer("table", table)
        self.coverage = found
        log.info("knowledge %s: %.1f %% of the vocabulary found", self.kind, 100 * found)

    def fact_names(self, token: int) -> list[str]:
        """The facts word ``token`` attends over, as ``"relation entity"`` (``kb`` only)."""
        pairs = self.table[token].tolist()  # (E, 2)
        return [f"{self.relation_names[r]} {self.entity_names[e]}" for r, e in pairs if e != 0]

    def forward(
        self, tokens: Tensor, x: Tensor, mask: Tensor, need_weights: bool
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``tokens (N, L)``, ``x (N, L, D)``, ``mask (N, L)`` -> ``(x', weights)``."""
        weights: dict[str, Tensor] = {}
        if self.kind == "kb":
            ids = self.table[tokens]  # (N, L, E, 2)
            facts = self.relations(ids[..., 0]) + self.entities(ids[..., 1])  # (N, L, E, D)
            x, read = self.attend(x, facts, ids[..., 1] != 0, mask, need_weights=need_weights)
            if read is not None:
                weights["knowledge"] = read  # (N, L, E + 1)
            return x, weights
        if self.kind == "wordnet":
            ids = self.table[tokens]  # (N, L, E)
            real = (ids != 0).float()
            share = real / real.sum(-1, keepdim=True).clamp(min=1)
            k = torch.einsum("nle,nled->nld", share, self.concepts(ids))  # (N, L, D)
        else:
            k = self.table[tokens]  # (N, L, Dk)
        x, gate = self.fusion(x, k, need_weights=need_weights)
        if gate is not None:
            weights["gate"] = gate.mean(-1) * mask  # (N, L)
        return x, weights


class SequenceEncoder(nn.Module):
    """Words -> one vector per sequence, with knowledge fused into the words first."""

    def __init__(self, config: IntegratedConfig, embed: nn.Embedding, knowledge):
        super().__init__()
        d = config.d_model
        self.kind = config.encoder
        self.embed = embed
        self.knowledge = knowledge
        self.dropout = nn.Dropout(config.dropout)
        if self.kind == "bigru":
            self.rnn = RNNEncoder("gru", d, d // 2, 1, config.dropout)
        elif self.kind == "cnn":
            self.cnn = CNNEncoder(d, d, config.cnn_widths)
            self.cnn_proj = nn.Linear(self.cnn.d_out, d)
        self.pool = AttentionPooling(d) if config.attention == "additive" else None

    def forward(
        self, tokens: Tensor, need_weights: bool = False
    ) -> tuple[Tensor, Tensor, Tensor | None, dict[str, Tensor]]:
        """``(states (N, L, D), pooled (N, D), pooling weights (N, L) or None, knowledge
        weights {name: (N, L, ...)})``."""
        mask = tokens != 0  # (N, L)
        x = self.embed(tokens)  # (N, L, D)
        extra: dict[str, Tensor] = {}
        if self.knowledge is not None:
            x, extra = self.knowledge(tokens, x, mask, need_weights)
        x = self.dropout(x) * mask.unsqueeze(-1)
        if self.kind == "bigru":
            h = self.rnn(x, mask)
        elif self.kind == "cnn":
            h = self.cnn_proj(self.cnn(x, mask)) * mask.unsqueeze(-1)
        else:
            pe = position_encoding_weights(mask.sum(1), x.shape[1], x.shape[2])  # (N, L, D)
            h = x * pe  # position-aware bag of words (MemN2N's PE, J = each sentence's length)
        if self.pool is not None:
            pooled, weights = self.pool(h, mask, need_weights=need_weights)
        else:
            weights = mask.float() / mask.sum(1, keepdim=True).clamp(min=1)  # (N, L)
            pooled = torch.einsum("nl,nld->nd", weights, h)
            weights = weights if need_weights else None
        return h, pooled, weights, extra
