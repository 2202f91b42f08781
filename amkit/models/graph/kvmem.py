"""A key-value memory network over a knowledge graph (Miller et al. 2016), answering
``relation(head, ?)`` questions in several hops with key hashing
(:class:`amkit.graph.GraphKVMemory`).

The memory holds every triple of the data's graph, its reciprocal (``r_inv``) and a self
loop per entity (paths shorter than ``hops``). The question's relation picks one query
vector per hop; the head entity is the first frontier; the answer scores are the log of
the last hop's distribution over entities. Training questions hide the triples their row's
``hide`` names (and their reciprocals): a question never reads its own answer.

Questions in words (``data.name: kbqa``, MetaQA style): the topic entity is the first frontier
and a question encoder (:class:`~amkit.models.graph.question.HopQuestionEncoder`) reads the
words into one query per hop; the loss is ``-log P(answer set)``
(:func:`~amkit.models.graph.question.answer_set_loss`).

Legend: B batch, E entities, R relations of the data (2R with reciprocals), K hops, D width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.graph import GraphKVMemory
from amkit.models.base import register_model
from amkit.models.graph.common import (
    CandidateAUCPR,
    GraphReasonerOutput,
    exclude_topic,
    hidden_mask,
    require_graph,
)
from amkit.models.graph.question import HopQuestionEncoder


@dataclass
class GraphKVMemConfig:
    """Hops 3: Countries S3 needs country -> neighbour -> subregion -> region."""

    d_key: int = option(32, ge=1)
    hops: int = option(3, ge=1)
    top_k: int | None = None  # keep the top_k entities per hop (large graphs); null = all
    d_word: int = option(64, ge=2)  # question word width (questions in words only)
    word_dropout: float = option(0.1, ge=0, lt=1)  # words read as unknown in training
    # questions in words: the topic entity is never the answer (common.exclude_topic)
    exclude_topic: bool = False
    # softmax: a walk normalised per subject; relation: TransferNet's step (amkit.graph.kvmem)
    transfer: str = option("softmax", choices=("softmax", "relation"))


@register_model("graph_kvmem", config=GraphKVMemConfig)
class GraphKVMemNet(CandidateAUCPR, nn.Module):
    """``forward(head (B,), relation (B,), hide (B, H) = None, targets = None, need_weights =
    False, tokens (B, T) = None, answers (B, A) = None) -> GraphReasonerOutput`` with logits
    ``(B, E)``: a question is ``relation`` or, for data with a vocabulary, ``tokens``."""

    def __init__(self, config: GraphKVMemConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        graph = require_graph(data_info, "graph_kvmem")
        self.n_base_triples, self.n_base_relations = len(graph), len(graph.relations)
        self.graph = graph.with_inverses().with_self_loops()
        self.answer_ids = list(data_info.answer_ids or [])
        self.question, self.hop_queries = None, None
        if data_info.vocab_size:  # questions in words: an encoder gives each hop's query
            self.question = HopQuestionEncoder(data_info.vocab_size, config.d_word, config.hops,
                                               config.d_key, config.word_dropout)  # fmt: skip
        else:  # relation(head, ?): one query per relation (reciprocals too) and hop
            self.hop_queries = nn.Parameter(
                torch.randn(2 * self.n_base_relations, config.hops, config.d_key) * 0.1
            )
        self.memory = GraphKVMemory(len(self.graph.relations), config.d_key, config.hops,
                                    config.top_k, config.transfer)  # fmt: skip

    def forward(
        self,
        head: Tensor,
        relation: Tensor | None = None,
        hide: Tensor | None = None,
        targets: Tensor | None = None,
        need_weights: bool = False,
        tokens: Tensor | None = None,
        answers: Tensor | None = None,
    ) -> GraphReasonerOutput:
        B, E = len(head), len(self.graph.entities)
        start = F.one_hot(head, E).float()  # (B, E)
        hidden = hidden_mask(hide, self.n_base_triples, len(self.graph), B, head.device)
        words = None
        if tokens is not None and self.question is not None:
            queries, words = self.question(tokens)  # (B, K, D), (B, K, T)
        elif relation is not None and self.hop_queries is not None:
            queries = self.hop_queries[relation]  # (B, K, D)
        else:
            raise UserError(
                "graph_kvmem asks relation(head, ?) or a question in words: give relation, "
                "or tokens with a data set that has a vocabulary"
            )
        read = self.memory(self.graph, start, queries, hidden)
        logits = torch.log(read.answers + 1e-9)  # (B, E)
        if tokens is not None and self.config.exclude_topic:
            logits = exclude_topic(logits, head)
        out = GraphReasonerOutput.scored(logits, answers, targets, words if need_weights else None)
        if need_weights:
            width = max(len(h.slots) for h in read.hops)
            out.hop_weights = torch.zeros(B, len(read.hops), width, device=head.device)
            out.hop_slots = torch.full((len(read.hops), width), -1, device=head.device)
            for k, hop in enumerate(read.hops):
                out.hop_weights[:, k, : len(hop.slots)] = hop.weights
                out.hop_slots[k, : len(hop.slots)] = hop.slots
        return out
