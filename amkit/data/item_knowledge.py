"""Item knowledge for recommendation: MovieLens attributes and the MKR knowledge graph.

- :func:`read_movies`: ``movies.dat`` (``MovieID::Title (Year)::Genre|Genre``, Latin-1).
- :func:`read_mkr_kg`: MKR's item -> entity map and its ``head<TAB>relation<TAB>tail`` triples
  (Wang et al. 2019, "Multi-Task Feature Learning for Knowledge Graph Enhanced
  Recommendation").
- :func:`build_item_knowledge`: for the items of a dataset (ids from
  :func:`amkit.data.recsys.renumber`), a multi-hot attribute matrix (genres and release
  decade), each item's KG entity and the KG triples, all as tensors.

A bad line raises an error naming file:line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from amkit.errors import UserError
from amkit.textfile import open_text

_TITLE_YEAR = re.compile(r"^(.*)\((\d{4})\)\s*$")
DECADES = [f"{d}s" for d in range(1910, 2010, 10)]


@dataclass
class Movie:
    title: str
    year: int | None
    genres: list[str]


@dataclass
class ItemKnowledge:
    """Knowledge of items ``1..I`` (row 0 is padding).

    Attributes:
        attributes: ``(I + 1, A)`` multi-hot: genres, then release decades.
        attribute_names: the ``A`` names (``genre:Comedy``, ``decade:1990s``).
        entity: ``(I + 1,)`` KG entity of each item, 1-based; 0 = the item is not in the KG.
        triples: ``(N, 3)`` ``head, relation, tail`` (entities 1-based, relations 0-based).
        n_entities, n_relations: sizes of the KG vocabularies.
        titles: display name of each item id (index 0 is ``""``).
    """

    attributes: torch.Tensor
    attribute_names: list[str]
    entity: torch.Tensor
    triples: torch.Tensor
    n_entities: int
    n_relations: int
    titles: list[str] = field(default_factory=list)


def read_movies(path: str | Path) -> dict[str, Movie]:
    """``{movie_id: Movie}`` from a MovieLens ``movies.dat`` (``.gz`` or not, Latin-1)."""
    movies = {}
    with open_text(path, encoding="latin-1") as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("::")
            if len(parts) != 3:
                raise UserError(
                    f"{path}:{number}: expected MovieID::Title (Year)::Genres, got {line!r}"
                )
            movie_id, title, genres = parts
            match = _TITLE_YEAR.match(title)
            year = int(match.group(2)) if match else None
            movies[movie_id] = Movie(title, year, [g for g in genres.split("|") if g])
    if not movies:
        raise UserError(f"{path}: no movies")
    return movies


def read_mkr_kg(folder: str | Path) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """MKR's ``item_index2entity_id`` map (MovieLens id -> entity) and KG triples."""
    folder = Path(folder)
    mapping, triples = {}, []
    for name, width, target in (
        ("mkr_movie_item_index2entity_id.txt.gz", 2, mapping),
        ("mkr_movie_kg.txt.gz", 3, triples),
    ):
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (the MKR item KG; see the folder's README)")
        with open_text(path) as lines:
            for number, line in enumerate(lines, 1):
                fields = line.rstrip("\r\n").split("\t")
                if fields == [""]:
                    continue
                if len(fields) != width:
                    raise UserError(f"{path}:{number}: expected {width} tab-separated fields")
                if width == 2:
                    target[fields[0]] = fields[1]
                else:
                    target.append(tuple(fields))
    return mapping, triples


def build_item_knowledge(item_ids: dict[str, int], folder: str | Path) -> ItemKnowledge:
    """Attributes, entities and triples for the items numbered by ``item_ids`` (1-based)."""
    folder = Path(folder)
    movies = read_movies(folder / "movies.dat.gz")
    genres = sorted({g for m in movies.values() for g in m.genres})
    names = [f"genre:{g}" for g in genres] + [f"decade:{d}" for d in DECADES]
    column = {n: i for i, n in enumerate(names)}
    n_items = len(item_ids)
    attributes = torch.zeros(n_items + 1, len(names))
    titles = [""] * (n_items + 1)
    for raw, item in item_ids.items():
        movie = movies.get(raw)
        if movie is None:
            continue
        titles[item] = movie.title
        for g in movie.genres:
            attributes[item, column[f"genre:{g}"]] = 1
        if movie.year is not None:
            decade = f"{min(max(movie.year // 10 * 10, 1910), 2000)}s"
            attributes[item, column[f"decade:{decade}"]] = 1
    mapping, raw_triples = read_mkr_kg(folder)
    entities: dict[str, int] = {}
    relations: dict[str, int] = {}
    triples = [
        (entities.setdefault(h, len(entities) + 1), relations.setdefault(r, len(relations)),
         entities.setdefault(t, len(entities) + 1))
        for h, r, t in raw_triples
    ]  # fmt: skip
    entity = torch.zeros(n_items + 1, dtype=torch.long)
    for raw, item in item_ids.items():
        if raw in mapping:
            entity[item] = entities.setdefault(mapping[raw], len(entities) + 1)
    return ItemKnowledge(
        attributes=attributes,
        attribute_names=names,
        entity=entity,
        triples=torch.tensor(triples, dtype=torch.long).view(-1, 3),
        n_entities=len(entities),
        n_relations=len(relations),
        titles=titles,
    )
