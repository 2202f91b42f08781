"""A graph of (subject, relation, object) triples with an inverted index for key hashing.

    graph = TriplesGraph.from_labeled([("palau", "locatedIn", "micronesia"), ...])
    graph.slots_of(torch.tensor([3, 7]))   # ids of the triples whose subject is 3 or 7

Entities and relations are numbered in order of first appearance (``entities``,
``relations``: id -> name). The inverted index is a CSR layout over the triples sorted by
subject: ``offsets[e]:offsets[e + 1]`` of ``order`` are the ids of ``e``'s triples, so the
slots of a set of subjects are gathered in time proportional to their number, not to the
size of the graph.

Legend: N triples, E entities, R relations, S selected slots.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from amkit.errors import UserError

INVERSE_SUFFIX = "_inv"
SELF_RELATION = "self"


@dataclass
class TriplesGraph:
    """Entity and relation vocabularies, the triples as ids and their inverted index.

    Attributes:
        entities: entity id -> name.
        relations: relation id -> name.
        triples: ``(N, 3)`` long tensor of (subject, relation, object) ids.
    """

    entities: list[str]
    relations: list[str]
    triples: Tensor
    _entity_ids: dict[str, int] = field(init=False, repr=False)
    _relation_ids: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.triples.dim() != 2 or self.triples.shape[1] != 3:
            raise UserError(f"triples must be (N, 3), got {tuple(self.triples.shape)}")
        self.triples = self.triples.long()
        if len(self.triples) and (
            int(self.triples[:, [0, 2]].max()) >= len(self.entities)
            or int(self.triples[:, 1].max()) >= len(self.relations)
            or int(self.triples.min()) < 0
        ):
            raise UserError("triples hold ids outside the entity or relation vocabulary")
        self._entity_ids = {name: i for i, name in enumerate(self.entities)}
        self._relation_ids = {name: i for i, name in enumerate(self.relations)}
        subjects = self.triples[:, 0]
        self.order = torch.argsort(subjects, stable=True)  # (N,) triple ids grouped by subject
        counts = torch.bincount(subjects, minlength=len(self.entities))  # (E,)
        self.offsets = torch.zeros(len(self.entities) + 1, dtype=torch.long)  # (E + 1,)
        self.offsets[1:] = torch.cumsum(counts, 0)

    @classmethod
    def from_labeled(
        cls,
        triples: Iterable[tuple[str, str, str]],
        entities: Sequence[str] = (),
        relations: Sequence[str] = (),
    ) -> TriplesGraph:
        """Number ``(subject, relation, object)`` names; ``entities`` / ``relations`` come
        first in the vocabularies (e.g. candidate answers that occur in no triple)."""
        entity_ids: dict[str, int] = {name: i for i, name in enumerate(dict.fromkeys(entities))}
        relation_ids: dict[str, int] = {name: i for i, name in enumerate(dict.fromkeys(relations))}
        rows = []
        for s, r, o in triples:
            for name in (s, o):
                entity_ids.setdefault(name, len(entity_ids))
            relation_ids.setdefault(r, len(relation_ids))
            rows.append((entity_ids[s], relation_ids[r], entity_ids[o]))
        tensor = torch.tensor(rows, dtype=torch.long).reshape(-1, 3)  # (N, 3)
        return cls(list(entity_ids), list(relation_ids), tensor)

    def __len__(self) -> int:
        return len(self.triples)

    def entity_id(self, name: str) -> int:
        """Id of entity ``name``; a :class:`UserError` when the graph has none."""
        if name not in self._entity_ids:
            raise UserError(f"no entity {name!r} in the graph")
        return self._entity_ids[name]

    def relation_id(self, name: str) -> int:
        """Id of relation ``name``; a :class:`UserError` listing the known relations."""
        if name not in self._relation_ids:
            raise UserError(
                f"unknown relation {name!r}; the graph has: {', '.join(self.relations)}"
            )
        return self._relation_ids[name]

    def has_entity(self, name: str) -> bool:
        """Whether ``name`` is an entity of the graph."""
        return name in self._entity_ids

    def slots_of(self, subjects: Tensor) -> Tensor:
        """Key hashing through the inverted index: the ids of every triple whose subject is
        one of ``subjects``.

        Args:
            subjects: ``(K,)`` entity ids (duplicates are read once).

        Returns:
            ``(S,)`` triple ids, grouped by subject in ascending subject order.
        """
        subjects = torch.unique(subjects.long().cpu())  # the index lives on the CPU
        cpu = self.offsets.device
        starts, ends = self.offsets[subjects], self.offsets[subjects + 1]  # (K,), (K,)
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return torch.zeros(0, dtype=torch.long, device=cpu)
        # position j of the output reads order[starts[k] + (j - first output of k)]
        first = torch.cumsum(lengths, 0) - lengths  # (K,)
        owner = torch.repeat_interleave(torch.arange(len(subjects), device=cpu), lengths)  # (S,)
        within = torch.arange(total, device=cpu) - first[owner]
        return self.order[starts[owner] + within]

    def with_inverses(self) -> TriplesGraph:
        """The graph plus ``(o, r_inv, s)`` for every triple (relation ids ``R..2R-1``, the
        name suffixed ``_inv``): reciprocal relations, so paths can run both ways."""
        relations = self.relations + [r + INVERSE_SUFFIX for r in self.relations]
        flipped = self.triples[:, [2, 1, 0]].clone()
        flipped[:, 1] += len(self.relations)
        return TriplesGraph(list(self.entities), relations, torch.cat([self.triples, flipped]))

    def with_self_loops(self) -> TriplesGraph:
        """The graph plus ``(e, self, e)`` for every entity: a reasoner can stay where it is
        for a hop (paths shorter than its number of hops), and no entity is without slots."""
        relations = self.relations + [SELF_RELATION]
        ids = torch.arange(len(self.entities))
        loops = torch.stack([ids, torch.full_like(ids, len(self.relations)), ids], 1)  # (E, 3)
        return TriplesGraph(list(self.entities), relations, torch.cat([self.triples, loops]))

    def without(self, triple_ids: Tensor) -> TriplesGraph:
        """The graph less the triples ``triple_ids`` (same vocabularies)."""
        keep = torch.ones(len(self.triples), dtype=torch.bool)
        keep[triple_ids.long()] = False
        return TriplesGraph(list(self.entities), list(self.relations), self.triples[keep])

    def describe(self, triple_id: int) -> str:
        """``subject relation object`` of one triple, by name."""
        s, r, o = self.triples[triple_id].tolist()
        return f"{self.entities[s]} {self.relations[r]} {self.entities[o]}"
