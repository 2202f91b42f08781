"""Knowledge bases of ``(head, relation, tail[, weight])`` triples.

``KnowledgeBase.from_file`` reads TSV, CSV or JSONL; a bad row raises ``ValueError`` naming
``file:line`` and the reason; a repeated triple is kept once and counted in
``n_duplicates``. Entities and relations get integer ids in order of first appearance
(the vocabularies a model's embedding tables use), and can be looked up by label.

Legend: E entities, R relations, F facts (unique triples).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from amkit.errors import UserError
from amkit.registry import did_you_mean
from amkit.textfile import jsonl_records, open_text

COLUMNS = ("head", "relation", "tail", "weight")
DIRECTIONS = ("out", "in", "both")


@dataclass(frozen=True)
class Fact:
    """One triple; ``weight`` defaults to 1.0."""

    head: str
    relation: str
    tail: str
    weight: float = 1.0


class KnowledgeBase:
    """Unique triples with entity and relation vocabularies.

    Args:
        facts: the triples; a repeat of an earlier ``(head, relation, tail)`` is dropped
            and counted in ``n_duplicates`` (the first weight is kept).
    """

    def __init__(self, facts: Iterable[Fact] = ()):
        self.facts_: list[Fact] = []
        self.entity_ids: dict[str, int] = {}
        self.relation_ids: dict[str, int] = {}
        self.n_duplicates = 0
        self._seen: set[tuple[str, str, str]] = set()
        self._by_entity: dict[str, list[int]] = defaultdict(list)
        self._folded: dict[str, str] = {}
        for fact in facts:
            self.add(fact)

    # ------------------------------------------------------------------ building
    def add(self, fact: Fact) -> bool:
        """Add one fact; returns ``False`` (and counts it) when it is a duplicate."""
        key = (fact.head, fact.relation, fact.tail)
        if key in self._seen:
            self.n_duplicates += 1
            return False
        self._seen.add(key)
        for entity in (fact.head, fact.tail):
            if entity not in self.entity_ids:
                self.entity_ids[entity] = len(self.entity_ids)
                self._folded.setdefault(entity.casefold(), entity)
        self.relation_ids.setdefault(fact.relation, len(self.relation_ids))
        index = len(self.facts_)
        self.facts_.append(fact)
        self._by_entity[fact.head].append(index)
        if fact.tail != fact.head:
            self._by_entity[fact.tail].append(index)
        return True

    @classmethod
    def from_file(cls, path: str | Path, format: str | None = None) -> KnowledgeBase:
        """Read triples from ``.tsv``, ``.csv`` or ``.jsonl`` (optionally ``.gz``).

        TSV/CSV rows are ``head, relation, tail[, weight]``; the first non-comment row, if
        equal to those column names, is a header and skipped; blank lines and lines starting
        with ``#`` are skipped. JSONL lines are objects with keys ``head``, ``relation``,
        ``tail`` and optionally ``weight``. ``format`` (``"tsv"``, ``"csv"``, ``"jsonl"``)
        overrides the file suffix.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"knowledge file not found: {path}")
        format = format or _format_of(path)
        kb = cls()
        with open_text(path, newline="") as handle:
            rows = _jsonl_rows(handle, path) if format == "jsonl" else _table_rows(handle, format)
            for line_no, fields in rows:
                kb.add(_parse_fact(fields, f"{path}:{line_no}"))
        if not kb.facts_:
            raise UserError(f"{path}: no triples found (expected rows 'head, relation, tail')")
        return kb

    # ------------------------------------------------------------------ lookup
    def __len__(self) -> int:
        return len(self.facts_)

    def __contains__(self, entity: str) -> bool:
        return entity in self.entity_ids

    @property
    def entities(self) -> list[str]:
        """Entity labels in id order."""
        return list(self.entity_ids)

    @property
    def relations(self) -> list[str]:
        """Relation labels in id order."""
        return list(self.relation_ids)

    def lookup(self, label: str) -> str:
        """The entity with this label, exact or case-insensitive; ``KeyError`` otherwise."""
        if label in self.entity_ids:
            return label
        folded = self._folded.get(label.casefold())
        if folded is not None:
            return folded
        hint = did_you_mean(label, self.entity_ids)
        raise KeyError(f"unknown entity {label!r} ({len(self.entity_ids)} entities){hint}")

    def entity_id(self, label: str) -> int:
        """Integer id of an entity (looked up as in :meth:`lookup`)."""
        return self.entity_ids[self.lookup(label)]

    def facts(self, entity: str, relation: str | None = None) -> list[Fact]:
        """Facts in which ``entity`` is head or tail, optionally of one relation."""
        entity = self.lookup(entity)
        found = (self.facts_[i] for i in self._by_entity[entity])
        return [f for f in found if relation is None or f.relation == relation]

    def neighbors(
        self, entity: str, relation: str | None = None, hops: int = 1, direction: str = "out"
    ) -> set[str]:
        """Entities reachable from ``entity`` in 1..``hops`` steps (``entity`` excluded).

        ``direction``: ``"out"`` follows head -> tail, ``"in"`` tail -> head, ``"both"``
        either way. ``relation`` restricts every step to that relation.
        """
        if hops < 1:
            raise UserError(f"hops must be >= 1, got {hops}")
        if direction not in DIRECTIONS:
            raise UserError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        start = self.lookup(entity)
        if relation is not None and relation not in self.relation_ids:
            raise KeyError(
                f"unknown relation {relation!r}{did_you_mean(relation, self.relation_ids)}"
            )
        reached, frontier = {start}, {start}
        for _ in range(hops):
            step = set()
            for node in frontier:
                for fact in self.facts(node, relation):
                    if direction in ("out", "both") and fact.head == node:
                        step.add(fact.tail)
                    if direction in ("in", "both") and fact.tail == node:
                        step.add(fact.head)
            frontier = step - reached
            reached |= step
        return reached - {start}


# ---------------------------------------------------------------------- parsing
def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    formats = {".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}
    if suffix not in formats:
        raise UserError(
            f"{path}: cannot tell the format from the suffix {suffix!r}; "
            "use .tsv, .csv or .jsonl, or pass format='tsv'|'csv'|'jsonl'"
        )
    return formats[suffix]


def _table_rows(handle, format: str):
    if format not in ("tsv", "csv"):
        raise UserError(f"format must be 'tsv', 'csv' or 'jsonl', got {format!r}")
    reader = csv.reader(handle, delimiter="\t" if format == "tsv" else ",")
    first = True
    for fields in reader:
        line_no = reader.line_num
        if not fields or not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
            continue
        is_header = [f.strip().lower() for f in fields] == list(COLUMNS[: len(fields)])
        if first and is_header:  # the first row that is not blank or a comment
            first = False
            continue
        first = False
        yield line_no, fields


def _jsonl_rows(handle, path: Path):
    for line_no, record in jsonl_records(handle, path, " with head/relation/tail"):
        unknown = sorted(set(record) - set(COLUMNS))
        if unknown:
            raise UserError(f"{path}:{line_no}: unknown keys {unknown}; allowed: {COLUMNS}")
        missing = [key for key in COLUMNS[:3] if key not in record]
        if missing:
            raise UserError(f"{path}:{line_no}: missing keys {missing}")
        yield line_no, [record[key] for key in COLUMNS if key in record]


def _parse_fact(fields: list, where: str) -> Fact:
    if len(fields) not in (3, 4):
        raise UserError(
            f"{where}: expected 3 or 4 columns (head, relation, tail[, weight]), "
            f"got {len(fields)}: {fields!r}"
        )
    head, relation, tail = (str(field).strip() for field in fields[:3])
    for name, value in zip(COLUMNS, (head, relation, tail), strict=False):
        if not value:
            raise UserError(f"{where}: empty {name}")
    weight = 1.0
    if len(fields) == 4:
        try:
            weight = float(fields[3])
        except (TypeError, ValueError):
            raise UserError(f"{where}: weight must be a number, got {fields[3]!r}") from None
        if weight != weight or weight in (float("inf"), float("-inf")):
            raise UserError(f"{where}: weight must be finite, got {fields[3]!r}")
    return Fact(head, relation, tail, weight)
