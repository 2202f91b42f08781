"""A relational graph network over the question's neighbourhood (R-GCN, Schlichtkrull et
al. 2018, with PyTorch Geometric's ``RGCNConv``) that scores every entity as the answer of
``relation(head, ?)``.

For each question, the ``layers``-hop neighbourhood of its head entity (PyG's
``k_hop_subgraph`` over the graph with reciprocal edges, less the triples the row hides) is
encoded by ``layers`` R-GCN layers (basis decomposition); the input of a node is its entity
vector, plus a learned marker on the head. The head's output ``h`` scores entity ``e`` as
``(h * w_r) . x_e`` with ``x_e`` its input vector (a DistMult decoder).

Questions in words (``data.name: kbqa``), as GraftNet (Sun et al. 2018) classifies the nodes
of a question's subgraph: the nodes start from zero, the topic from a learned marker plus one
vector the question encoder reads (:class:`~amkit.models.graph.question.HopQuestionEncoder`),
and each node is scored by its output's dot product with a second question vector; entities
outside the neighbourhood score :data:`OUTSIDE`. No entity vectors are read, so questions
about entities never seen in training are answered alike.

Legend: B batch, E entities, R relations (2R with reciprocals), D width, V nodes of a
batch's subgraphs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.graph.rgcn import RGCNStack, neighbourhoods
from amkit.models.base import register_model
from amkit.models.graph.common import (
    CandidateAUCPR,
    GraphReasonerOutput,
    exclude_topic,
    hidden_mask,
    require_graph,
)
from amkit.models.graph.question import HopQuestionEncoder

OUTSIDE = -30.0  # the logit of an entity outside a question's neighbourhood


@dataclass
class GraphRGCNConfig:
    """3 layers: a Countries S3 answer is 3 edges from the question's country."""

    d_model: int = option(32, ge=1)
    layers: int = option(3, ge=1)
    # basis decomposition (Schlichtkrull et al.): relation matrices share 4 bases; null = a
    # matrix per relation
    num_bases: int | None = option(4, ge=1)
    dropout: float = option(0.1, ge=0, lt=1)
    d_word: int = option(64, ge=2)  # question word width (questions in words only)
    word_dropout: float = option(0.1, ge=0, lt=1)  # words read as unknown in training
    # questions in words: the topic entity is never the answer (common.exclude_topic)
    exclude_topic: bool = False


@register_model("graph_rgcn", config=GraphRGCNConfig)
class GraphRGCN(CandidateAUCPR, nn.Module):
    """``forward(head (B,), relation (B,), hide (B, H) = None, targets = None, need_weights =
    False, tokens (B, T) = None, answers (B, A) = None) -> GraphReasonerOutput`` with logits
    ``(B, E)`` (no attention over facts): a question is ``relation`` or, for data with a
    vocabulary (``kbqa``), ``tokens`` (see the module docstring)."""

    def __init__(self, config: GraphRGCNConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        graph = require_graph(data_info, "graph_rgcn")
        self.n_base_triples = len(graph)
        self.graph = graph.with_inverses()
        self.answer_ids = list(data_info.answer_ids or [])
        E, R, D = len(graph.entities), len(self.graph.relations), config.d_model
        self.entities = nn.Embedding(E, D)
        self.head_marker = nn.Parameter(torch.zeros(D))
        self.relations = nn.Embedding(R, D)  # the decoder's diagonal per question relation
        nn.init.ones_(self.relations.weight)
        self.convs = RGCNStack(D, R, config.layers, config.num_bases, config.dropout)
        self.question = None  # questions in words: two vectors, one read into the topic's
        if data_info.vocab_size:  # input, one that scores the nodes' outputs
            self.question = HopQuestionEncoder(data_info.vocab_size, config.d_word, 2, D,
                                               config.word_dropout)  # fmt: skip

    def _answer_nodes(self, hood, heads: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Questions in words: ``(B, E)`` logits, each node of a row's subgraph scored by its
        output vector (GraftNet-style node classification; entities outside it get
        :data:`OUTSIDE`), and the ``(B, 2, T)`` word attention."""
        queries, words = self.question(tokens)  # (B, 2, D), (B, 2, T)
        B = len(heads)
        x = torch.zeros(len(hood.nodes), queries.shape[-1], device=heads.device)  # (V, D)
        x = x.index_add(0, heads, self.head_marker + queries[:, 0])  # the topic, and what is asked
        x = self.convs(x, hood.edges, hood.types)
        scores = (x * queries[hood.rows, 1]).sum(-1)  # (V,)
        logits = torch.full((B, len(self.graph.entities)), OUTSIDE, device=heads.device)
        return logits.index_put((hood.rows, hood.nodes), scores), words

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
        hidden = hidden_mask(hide, self.n_base_triples, len(self.graph), len(head), head.device)
        hood = neighbourhoods(self.graph, list(head.unsqueeze(1)), self.config.layers, hidden)
        heads = torch.cat(hood.seeds)  # (B,) each row's head node
        words = None
        if tokens is not None and self.question is not None:
            logits, words = self._answer_nodes(hood, heads, tokens)
            if self.config.exclude_topic:
                logits = exclude_topic(logits, head)
        elif relation is not None:
            x = self.entities(hood.nodes)  # (V, D)
            x = x.index_add(0, heads, self.head_marker.expand(len(heads), -1))
            x = self.convs(x, hood.edges, hood.types)  # (V, D)
            logits = (x[heads] * self.relations(relation)) @ self.entities.weight.T  # (B, E)
        else:
            raise UserError(
                "graph_rgcn asks relation(head, ?) or a question in words: give relation, "
                "or tokens with a data set that has a vocabulary"
            )
        out = GraphReasonerOutput.scored(logits, answers, targets, words if need_weights else None)
        return out
