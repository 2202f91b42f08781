"""Relational graph convolution over the neighbourhoods of seed entities (R-GCN,
Schlichtkrull et al. 2018, on PyTorch Geometric's ``RGCNConv`` and ``k_hop_subgraph``).

- :func:`neighbourhoods`: each row's ``layers``-hop neighbourhood of its seed entities,
  batched as one disjoint graph;
- :class:`RGCNStack`: ``layers`` R-GCN layers with ReLU between them;
- :class:`GraphMemory`: a graph memory -- the states of the nodes around each row's seeds,
  padded into a ``(B, N, D)`` memory a key-value read can attend over.

Legend: B batch, S seeds per row, V nodes of a batch, N nodes of a row (padded), Q edges,
E entities, R relations, D width.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.graph.triples import TriplesGraph


def _pyg():
    try:
        import torch_geometric  # noqa: F401
    except ImportError:
        raise ModuleNotFoundError(
            "graph memory and R-GCN need PyTorch Geometric: pip install -e .[graph]"
        ) from None


@contextmanager
def plain_matmul() -> Iterator[None]:
    """PyG's ``RGCNConv`` left to itself times a heuristic on the CPU at every call to choose
    ``segment_matmul`` (a ``pyg_lib`` kernel); unless the user set
    ``torch_geometric.backend.use_segment_matmul``, use the plain per-relation path."""
    import torch_geometric.backend as backend

    saved = backend.use_segment_matmul
    if saved is None:
        backend.use_segment_matmul = False
    try:
        yield
    finally:
        backend.use_segment_matmul = saved


@dataclass
class Neighbourhoods:
    """A batch of neighbourhoods as one disjoint graph.

    Attributes:
        nodes: ``(V,)`` the entity id of each node, row after row.
        edges: ``(2, Q)`` edges between nodes (indices into ``nodes``).
        types: ``(Q,)`` each edge's relation id.
        rows: ``(V,)`` the row each node belongs to (ascending).
        seeds: one ``(S_b,)`` tensor per row: where its seeds are in ``nodes``.
    """

    nodes: Tensor
    edges: Tensor
    types: Tensor
    rows: Tensor
    seeds: list[Tensor]


def neighbourhoods(
    graph: TriplesGraph, seeds: Sequence[Tensor], layers: int, hidden: Tensor | None = None
) -> Neighbourhoods:
    """Each row's nodes within ``layers`` edges of its seeds and the edges between them.

    Args:
        graph: its edges run ``subject -> object``; a row reaches the nodes with a path of
            at most ``layers`` edges *to* one of its seeds (PyG's ``source_to_target`` flow:
            where messages to the seeds come from); with reciprocal edges
            (:meth:`TriplesGraph.with_inverses`), any path.
        seeds: one ``(S_b,)`` tensor of entity ids per row; a row without seeds has no node.
        layers: how far from the seeds.
        hidden: ``(B, N_triples)`` bool, True = a triple the row must not see.

    Returns:
        :class:`Neighbourhoods`, on the seeds' device.
    """
    _pyg()
    from torch_geometric.utils import k_hop_subgraph

    device = seeds[0].device if len(seeds) else torch.device("cpu")
    triples = graph.triples.to(device)
    edge_index, edge_type = triples[:, [0, 2]].T, triples[:, 1]  # (2, N), (N,)
    empty = torch.zeros(0, dtype=torch.long, device=device)
    nodes, edges, types, rows, where, offset = [], [], [], [], [], 0
    for b, row in enumerate(seeds):
        if len(row) == 0:
            where.append(empty)
            continue
        keep = ~hidden[b] if hidden is not None else slice(None)
        subset, sub_edges, mapping, edge_mask = k_hop_subgraph(
            row, layers, edge_index[:, keep], relabel_nodes=True,
            num_nodes=len(graph.entities),
        )  # fmt: skip
        nodes.append(subset)
        edges.append(sub_edges + offset)
        types.append(edge_type[keep][edge_mask])
        rows.append(torch.full_like(subset, b))
        where.append(mapping + offset)
        offset += len(subset)
    if not nodes:
        return Neighbourhoods(empty, empty.view(2, 0), empty, empty, where)
    return Neighbourhoods(
        torch.cat(nodes), torch.cat(edges, 1), torch.cat(types), torch.cat(rows), where
    )


class RGCNStack(nn.ModuleList):
    """``layers`` ``RGCNConv(D, D, R)`` (basis decomposition with ``num_bases``; ``None`` =
    a matrix per relation), dropout before each, ReLU between them.

    Its parameters are named as a plain ``nn.ModuleList`` of the layers (``0.weight``, ...).
    """

    def __init__(
        self,
        dim: int,
        n_relations: int,
        layers: int,
        num_bases: int | None = None,
        dropout: float = 0.0,
    ):
        _pyg()
        from torch_geometric.nn import RGCNConv

        super().__init__(
            RGCNConv(dim, dim, n_relations, num_bases=num_bases) for _ in range(layers)
        )
        self.p = dropout

    def forward(self, x: Tensor, edges: Tensor, types: Tensor) -> Tensor:
        """``x (V, D)``, ``edges (2, Q)``, ``types (Q,)`` -> node states ``(V, D)``."""
        with plain_matmul():
            for i, conv in enumerate(self):
                x = conv(F.dropout(x, self.p, self.training), edges, types)  # (V, D)
                if i < len(self) - 1:
                    x = F.relu(x)
        return x


class GraphMemory(nn.Module):
    """A graph memory: an R-GCN over the neighbourhood of each row's seed entities; its
    node states are the memory slots.

    Args:
        graph: the knowledge graph; reciprocal edges are added, so the neighbourhood and the
            messages run both ways.
        dim: D, the width of the entity vectors and node states.
        layers: R-GCN layers, which is also how far from the seeds the neighbourhood reaches.
        num_bases: basis decomposition of the relation matrices (``None``: one per relation).
        dropout: before each layer.

    Attributes:
        entities: ``(E, D)`` the nodes' input vectors.
        convs: the :class:`RGCNStack`.
    """

    def __init__(
        self,
        graph: TriplesGraph,
        dim: int,
        layers: int = 2,
        num_bases: int | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.graph = graph.with_inverses()
        self.layers = layers
        self.entities = nn.Embedding(len(graph.entities), dim)
        nn.init.normal_(self.entities.weight, std=0.1)
        self.convs = RGCNStack(dim, len(self.graph.relations), layers, num_bases, dropout)

    def forward(self, seeds: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Read the neighbourhoods of ``seeds (B, S)`` (entity ids, -1 = none; repeats are
        read once).

        Returns:
            ``(states (B, N, D), node ids (B, N), mask (B, N))``: each row's nodes in entity
            id order, padded (id -1, state 0, mask False); ``N >= 1``, a row without seeds
            has no node.
        """
        from torch_geometric.utils import to_dense_batch

        b = seeds.shape[0]
        rows = [row[row >= 0].unique() for row in seeds]
        hood = neighbourhoods(self.graph, rows, self.layers)
        x = self.convs(self.entities(hood.nodes), hood.edges, hood.types)  # (V, D)
        n = max(1, int(torch.bincount(hood.rows, minlength=b).max()) if len(hood.rows) else 1)
        states, mask = to_dense_batch(x, hood.rows, batch_size=b, max_num_nodes=n)  # (B, N, D)
        ids, _ = to_dense_batch(hood.nodes, hood.rows, fill_value=-1, batch_size=b,
                                max_num_nodes=n)  # fmt: skip
        return states, ids, mask
