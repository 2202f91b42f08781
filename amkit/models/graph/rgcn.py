"""A relational graph network over the question's neighbourhood (R-GCN, Schlichtkrull et
al. 2018, with PyTorch Geometric's ``RGCNConv``) that scores every entity as the answer of
``relation(head, ?)``.

For each question, the ``layers``-hop neighbourhood of its head entity (PyG's
``k_hop_subgraph`` over the graph with reciprocal edges, less the triples the row hides) is
encoded by ``layers`` R-GCN layers (basis decomposition); the input of a node is its entity
vector, plus a learned marker on the head. The head's output ``h`` scores entity ``e`` as
``(h * w_r) . x_e`` with ``x_e`` its input vector (a DistMult decoder).

Legend: B batch, E entities, R relations (2R with reciprocals), D width, V nodes of a
batch's subgraphs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.graph.rgcn import RGCNStack, neighbourhoods
from amkit.models.base import register_model
from amkit.models.graph.common import (
    CandidateAUCPR,
    GraphReasonerOutput,
    hidden_mask,
    require_graph,
)


@dataclass
class GraphRGCNConfig:
    """3 layers: a Countries S3 answer is 3 edges from the question's country."""

    d_model: int = option(32, ge=1)
    layers: int = option(3, ge=1)
    # basis decomposition (Schlichtkrull et al.): relation matrices share 4 bases; null = a
    # matrix per relation
    num_bases: int | None = option(4, ge=1)
    dropout: float = option(0.1, ge=0, lt=1)


@register_model("graph_rgcn", config=GraphRGCNConfig)
class GraphRGCN(CandidateAUCPR, nn.Module):
    """``forward(head (B,), relation (B,), hide (B, H) = None, targets = None,
    need_weights = False) -> GraphReasonerOutput`` with logits ``(B, E)`` (no attention)."""

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

    def forward(
        self,
        head: Tensor,
        relation: Tensor,
        hide: Tensor | None = None,
        targets: Tensor | None = None,
        need_weights: bool = False,
    ) -> GraphReasonerOutput:
        hidden = hidden_mask(hide, self.n_base_triples, len(self.graph), len(head), head.device)
        hood = neighbourhoods(self.graph, list(head.unsqueeze(1)), self.config.layers, hidden)
        heads = torch.cat(hood.seeds)  # (B,) each row's head node
        x = self.entities(hood.nodes)  # (V, D)
        x = x.index_add(0, heads, self.head_marker.expand(len(heads), -1))
        x = self.convs(x, hood.edges, hood.types)  # (V, D)
        query = x[heads] * self.relations(relation)  # (B, D)
        logits = query @ self.entities.weight.T  # (B, E)
        loss = F.cross_entropy(logits, targets) if targets is not None else None
        return GraphReasonerOutput(logits=logits, loss=loss)
