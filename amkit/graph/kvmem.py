"""Key-value memory over a graph with key hashing (Miller et al. 2016, "Key-Value Memory
Networks for Directly Reading Documents", the KB setting).

Every triple ``(s, r, o)`` of a :class:`~amkit.graph.triples.TriplesGraph` is a memory slot:
its key is the subject *and* the relation, its value the object. **Key hashing** keeps, at
each hop, only the slots whose subject is in the current frontier (the question's entities
at the first hop, the previous hop's answers after), read through the graph's inverted
index, so a hop costs what the frontier's slots cost, not the size of the graph.

A hop attends over the kept slots: the subject part of the key is matched by the hashing
(the frontier weight of the subject), the relation part by a dot product with the hop's
query vector, normalised per subject::

    a_i = p(s_i) * softmax_{j : s_j = s_i}(q . k_{r_j})_i        p'(o) = sum_{i : o_i = o} a_i

so the weights of one row sum to the frontier's mass (1 when the question's distribution
sums to 1 and every frontier entity keeps a slot: add self loops) and the answer
distribution ``p'`` is the next frontier. Deviation from Miller et al.: their softmax runs
over all kept slots and the read vector updates the query; here the transition is
normalised per subject (a random walk whose steps the question chooses), which keeps the
hop's answers a distribution over entities and needs no entity vectors, so it answers about
entities never seen in training.

``transfer="relation"`` (TransferNet's step, Shi et al. 2021) instead scores the relations,
not the slots, and does not divide a subject's weight among its triples::

    a_i = p(s_i) * softmax_r(q . k_r)[r_i]        p'(o) = min(1, sum_{i : o_i = o} a_i)

so every object reached by a likely relation keeps its subject's weight: a question with 30
answers (the hyponyms of a word) scores each of them as high as a question with one, where
the normalised walk gives each 1/30 and a single wrong entity outranks them. ``p'`` is a
score in [0, 1] per entity, not a distribution.

Legend: B batch, E entities, N triples, R relations, K hops, D key width, S kept slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from amkit.errors import UserError
from amkit.graph.triples import TriplesGraph

TRANSFERS = ("softmax", "relation")


@dataclass
class HopAttention:
    """One hop's read.

    Attributes:
        slots: ``(S,)`` the triple ids key hashing kept (the union over the batch).
        weights: ``(B, S)`` attention over them: with ``transfer="softmax"`` a row sums to
            its frontier's mass (1 with self loops and a normalised question); always exactly
            0 on slots whose subject is not in that row's frontier or that the row hides.
        answers: ``(B, E)`` the distribution over entities after the hop (``relation``:
            a score in [0, 1] per entity).
    """

    slots: Tensor
    weights: Tensor
    answers: Tensor


@dataclass
class GraphMemoryRead:
    """What :class:`GraphKVMemory` returns.

    Attributes:
        answers: ``(B, E)`` the distribution over entities after the last hop.
        hops: one :class:`HopAttention` per hop.
    """

    answers: Tensor
    hops: list[HopAttention]


def hashed_slots(graph: TriplesGraph, frontier: Tensor) -> Tensor:
    """Key hashing: ``(S,)`` ids of the triples whose subject has weight in ``frontier``
    ``(B, E)`` (any row), through the graph's inverted index."""
    subjects = (frontier > 0).any(0).nonzero().squeeze(1).cpu()  # (A,)
    return graph.slots_of(subjects)


class GraphKVMemory(nn.Module):
    """Multi-hop key-value memory over the triples of a graph, with key hashing.

    Args:
        n_relations: R, the relations of the graph the memory will read (keys).
        d_key: D, the width of relation keys and hop queries.
        hops: K, the reads per question.
        top_k: keep only the ``top_k`` most likely entities of each row's frontier after a
            hop (renormalised for ``softmax``); ``None`` keeps all. Bounds the cost on large
            graphs.
        transfer: ``softmax`` (a walk normalised per subject) or ``relation`` (TransferNet's
            relation scores, no division among a subject's triples); see the module text.
    """

    def __init__(
        self, n_relations: int, d_key: int = 32, hops: int = 3, top_k: int | None = None,
        transfer: str = "softmax",
    ):  # fmt: skip
        super().__init__()
        if hops < 1:
            raise UserError(f"hops must be >= 1, got {hops}")
        if top_k is not None and top_k < 1:
            raise UserError(f"top_k must be >= 1 or None, got {top_k}")
        if transfer not in TRANSFERS:
            raise UserError(f"transfer must be one of {', '.join(TRANSFERS)}, got {transfer!r}")
        self.hops, self.top_k, self.transfer = hops, top_k, transfer
        self.keys = nn.Embedding(n_relations, d_key)
        nn.init.normal_(self.keys.weight, std=0.1)

    def forward(
        self,
        graph: TriplesGraph,
        start: Tensor,
        queries: Tensor,
        hidden: Tensor | None = None,
    ) -> GraphMemoryRead:
        """Read ``K`` hops from ``start``.

        Args:
            graph: the memory: its triples are the slots (relations < ``n_relations``).
            start: ``(B, E)`` the question's entities as a distribution (rows sum to 1).
            queries: ``(B, K, D)`` the query vector of each hop.
            hidden: ``(B, N)`` bool, True = the slot is hidden from that row (a training
                question must not read its own answer); ``None`` hides nothing.

        Returns:
            A :class:`GraphMemoryRead`.
        """
        B, E = start.shape
        if queries.shape[:2] != (B, self.hops):
            raise UserError(
                f"queries must be (B={B}, K={self.hops}, D), got {tuple(queries.shape)}"
            )
        device = start.device
        triples = graph.triples.to(device)
        p, hops = start, []
        for t in range(self.hops):
            slots = hashed_slots(graph, p).to(device)  # (S,)
            s, r, o = triples[slots].unbind(1)  # (S,) each
            subjects, group = torch.unique(s, return_inverse=True)  # (A,), (S,)
            allowed = p[:, s] > 0  # (B, S) the row's own frontier
            if hidden is not None:
                allowed &= ~hidden[:, slots]
            if self.transfer == "relation":
                p, weights = self._relation_step(queries[:, t], p, s, r, o, allowed)
                hops.append(HopAttention(slots, weights, p))
                continue
            logits = queries[:, t] @ self.keys(r).T  # (B, S)
            logits = logits.float().masked_fill(~allowed, float("-inf"))
            index = group.expand(B, -1)  # (B, S)
            peak = torch.full((B, len(subjects)), float("-inf"), device=device)
            peak = peak.scatter_reduce(1, index, logits, "amax")  # (B, A)
            shifted = logits - peak.gather(1, index)
            exp = torch.where(allowed, shifted.exp(), torch.zeros_like(shifted))  # (B, S)
            total = torch.zeros(B, len(subjects), device=device).index_add(1, group, exp)
            weights = exp / total.gather(1, index).clamp_min(1e-30) * p[:, s]  # (B, S)
            p = torch.zeros(B, E, device=device, dtype=weights.dtype).index_add(1, o, weights)
            if self.top_k is not None and self.top_k < E:
                kept, at = p.topk(self.top_k, dim=1)  # (B, top_k)
                pruned = torch.zeros_like(p).scatter(1, at, kept)
                mass = p.sum(1, keepdim=True)
                p = pruned * (mass / pruned.sum(1, keepdim=True).clamp_min(1e-30))
            hops.append(HopAttention(slots, weights, p))
        return GraphMemoryRead(p, hops)

    def _relation_step(
        self, query: Tensor, p: Tensor, s: Tensor, r: Tensor, o: Tensor, allowed: Tensor
    ) -> tuple[Tensor, Tensor]:
        """One ``transfer="relation"`` hop: ``query (B, D)``, frontier ``p (B, E)``, the kept
        slots' subjects, relations and objects ``(S,)``, ``allowed (B, S)`` -> the next
        frontier ``(B, E)`` (scores in [0, 1]) and the slot weights ``(B, S)``."""
        relation_p = torch.softmax(query.float() @ self.keys.weight.float().T, dim=-1)  # (B, R)
        weights = torch.where(allowed, p[:, s] * relation_p[:, r], torch.zeros_like(p[:, s]))
        reached = torch.zeros_like(p).index_add(1, o, weights).clamp(max=1.0)  # (B, E)
        if self.top_k is not None and self.top_k < reached.shape[1]:
            kept, at = reached.topk(self.top_k, dim=1)
            reached = torch.zeros_like(reached).scatter(1, at, kept)
        return reached, weights
