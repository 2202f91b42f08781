"""Countries S1, S2, S3 (Bouchard, Singh & Trouillon 2015; the release of Neural Theorem
Provers, Rocktäschel & Riedel 2017): which region is a country in, when the graph lacks the
answer and the reasoner must follow ``locatedIn`` and ``neighborOf`` facts.

    data: {name: countries, subset: S3}

The graph is ``countries_S{1,2,3}.nl``; validation asks ``locatedIn(c, ?)`` for the 24
countries of ``dev_held_out.txt`` (the released ``dev.txt`` does not match the S files: see
the data's README), test for the 24 of ``test.txt``; the truth comes from ``countries.nl``.
Every query is a row ``head`` (the country), ``relation`` (``locatedIn``), ``targets`` (the
region's entity id); the model scores every entity, ``DataInfo.answer_ids`` are the 5 regions
(the candidates of AUC-PR).

Training rows (``train_queries``):

- ``regions``: the ``locatedIn(country, region)`` facts of the graph (countries, not
  subregions), each with ``hide``, the graph's triples the question must not read,
  mirroring what the subset removes for a test country: S1 the fact itself; S2 also the
  country's other ``locatedIn`` facts (its subregion); S3 also the
  ``locatedIn(neighbour, region)`` facts of its neighbours. A reasoner that answers these
  has learned the paths the test needs.
- ``all``: every triple of the graph and its reciprocal (relation id + R, the name suffixed
  ``_inv``), as knowledge-graph embeddings train (1-N scoring); ``hide`` is the triple itself.

Legend: N rows, H hidden triples per row (padded with -1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, pad_rows, register_dataset
from amkit.data.locations import dataset_path
from amkit.errors import UserError
from amkit.graph import TriplesGraph, read_names, read_nl_facts

QUERY_RELATION = "locatedIn"
NEIGHBOUR_RELATION = "neighborOf"


@dataclass
class CountriesConfig:
    """Countries S1-S3: which subset, which training questions."""

    subset: str = "S1"  # S1 | S2 | S3
    path: str | None = None  # null: the countries folder under AMKIT_DATA
    train_queries: str = "regions"  # regions (reasoners) | all (graph embeddings: every triple)

    def validate(self) -> list[str]:
        problems = []
        if self.subset not in ("S1", "S2", "S3"):
            problems.append(f"subset: expected S1, S2 or S3, got {self.subset!r}")
        if self.train_queries not in ("regions", "all"):
            problems.append(f"train_queries: expected regions or all, got {self.train_queries!r}")
        return problems


def _hidden_for(graph: TriplesGraph, fact: int, subset: str, regions: set[int]) -> list[int]:
    """The triples a training question about ``fact`` (``locatedIn(c, region)``) hides."""
    located, neighbour = graph.relation_id(QUERY_RELATION), graph.relation_id(NEIGHBOUR_RELATION)
    country = int(graph.triples[fact, 0])
    own = graph.slots_of(torch.tensor([country])).tolist()
    hidden = [fact]
    if subset in ("S2", "S3"):
        hidden += [i for i in own if int(graph.triples[i, 1]) == located and i != fact]
    if subset == "S3":
        neighbours = [int(graph.triples[i, 2]) for i in own if graph.triples[i, 1] == neighbour]
        for i in graph.slots_of(torch.tensor(neighbours, dtype=torch.long)).tolist():
            if int(graph.triples[i, 1]) == located and int(graph.triples[i, 2]) in regions:
                hidden.append(i)
    return hidden


def read_countries(folder: Path, subset: str) -> tuple[TriplesGraph, dict, list[int]]:
    """The subset's graph (regions first among the entities, relations ``locatedIn``,
    ``neighborOf``), ``{"val": [(country id, region id)], "test": ...}`` and the region ids."""
    regions = read_names(folder / "regions.txt")
    facts = read_nl_facts(folder / f"countries_{subset}.nl")
    graph = TriplesGraph.from_labeled(facts, regions, [QUERY_RELATION, NEIGHBOUR_RELATION])
    truth = {s: o for s, r, o in read_nl_facts(folder / "countries.nl")
             if r == QUERY_RELATION and o in regions}  # fmt: skip
    queries = {}
    for split, name in (("val", "dev_held_out.txt"), ("test", "test.txt")):
        rows = []
        for country in read_names(folder / name):
            if country not in truth or not graph.has_entity(country):
                raise UserError(f"{folder / name}: {country!r} has no region in countries.nl "
                                f"or is not in countries_{subset}.nl")  # fmt: skip
            rows.append((graph.entity_id(country), graph.entity_id(truth[country])))
        queries[split] = rows
    return graph, queries, [graph.entity_id(r) for r in regions]


@register_dataset("countries", config=CountriesConfig, task="classification")
def build_countries(config: CountriesConfig, seed: int) -> DataBundle:
    """Rows ``head``, ``relation``, ``hide`` ``(N, H)``, ``targets`` per split (see the module
    docstring); ``info.graph`` is the subset's :class:`~amkit.graph.TriplesGraph`."""
    folder = dataset_path("countries", config.path)
    graph, queries, region_ids = read_countries(folder, config.subset)
    located, n_relations = graph.relation_id(QUERY_RELATION), len(graph.relations)
    regions = set(region_ids)
    subregions = {graph.entity_id(n) for n in read_names(folder / "subregions.txt")
                  if graph.has_entity(n)}  # fmt: skip
    rows: list[tuple[int, int, int, list[int]]] = []
    for i, (s, r, o) in enumerate(graph.triples.tolist()):
        if config.train_queries == "all":
            rows += [(s, r, o, [i]), (o, r + n_relations, s, [i])]
        elif r == located and o in regions and s not in subregions:
            rows.append((s, r, o, _hidden_for(graph, i, config.subset, regions)))
    splits = {"train": rows}
    for split, pairs in queries.items():
        splits[split] = [(c, located, region, []) for c, region in pairs]
    tensors = {}
    for split, split_rows in splits.items():
        tensors[split] = TensorDictDataset({
            "head": torch.tensor([row[0] for row in split_rows]),
            "relation": torch.tensor([row[1] for row in split_rows]),
            "hide": pad_rows([row[3] for row in split_rows], value=-1),
            "targets": torch.tensor([row[2] for row in split_rows]),
        })  # fmt: skip
    info = DataInfo(
        task="classification",
        n_classes=len(graph.entities),
        label_names=list(graph.entities),
        answer_ids=region_ids,
        graph=graph,
        statistics={
            "subset": config.subset,
            "entities": len(graph.entities),
            "triples": len(graph),
            **{f"{split}_rows": len(splits[split]) for split in splits},
        },
    )
    return DataBundle(tensors, info)
