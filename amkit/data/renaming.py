"""Word-renaming augmentation: rewrite training examples with a random bijection inside each
group of interchangeable words (e.g. the shapes of bAbI task 17, the names of task 16).

A consistent renaming of entity words leaves a synthetic reasoning task's answer correct
(``"the triangle is above the red square; is the red square below the triangle? yes"``
stays true with ``triangle -> sphere``, ``red -> pink``), so a model that has too few
distinct stories to learn the rule from (bAbI task 17: 1,091 distinct training stories)
sees many more situations. It is a *training-data* change that the bAbI papers do not use;
results with it are labelled as such.

Legend: B batch, V vocabulary, G a group's size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from amkit.errors import UserError


class WordRenaming:
    """Per example, one random permutation inside each group, applied to token-id columns.

    Args:
        groups: ids of interchangeable words, one sequence per group (at least 2 ids each; no
            id in two groups).
        vocab_size: V, so that the mapping table covers every id.
        columns: names of the batch's integer columns to rewrite (any shape ``(B, ...)``);
            other columns (e.g. ``meta_*``) pass unchanged.

    Calling it with a batch and a ``torch.Generator`` returns a new batch; the same generator
    state gives the same renaming (resumed runs repeat their epochs).
    """

    def __init__(self, groups: Sequence[Sequence[int]], vocab_size: int, columns: Sequence[str]):
        seen: set[int] = set()
        for i, group in enumerate(groups):
            if len(group) < 2:
                raise UserError(f"renaming group {i} needs at least 2 words, got {list(group)}")
            bad = [g for g in group if not 0 <= g < vocab_size]
            if bad:
                raise UserError(
                    f"renaming group {i}: ids {bad} outside the vocabulary (0..{vocab_size - 1})"
                )
            twice = seen.intersection(group)
            if twice or len(set(group)) != len(group):
                raise UserError(
                    f"renaming group {i}: ids {sorted(twice) or list(group)} occur twice"
                )
            seen.update(group)
        self.groups = [torch.tensor(list(g), dtype=torch.long) for g in groups]
        self.vocab_size = vocab_size
        self.columns = tuple(columns)

    def tables(self, batch_size: int, generator: torch.Generator | None = None) -> Tensor:
        """``(B, V)`` long: row b maps each id to its new id (identity outside the groups)."""
        table = torch.arange(self.vocab_size).expand(batch_size, -1).clone()  # (B, V)
        for ids in self.groups:
            order = torch.rand(batch_size, len(ids), generator=generator).argsort(1)  # (B, G)
            table[:, ids] = ids[order]
        return table

    def __call__(
        self, batch: dict[str, Tensor], generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        size = len(next(iter(batch.values())))
        return apply_tables(batch, self.tables(size, generator), self.columns)


class KeyedWordRenaming:
    """A :class:`WordRenaming` per value of an integer column, e.g. per bAbI task
    (``key="meta_task"``): rows whose value has none pass unchanged.

    Args:
        renamings: key value -> its renaming; all share one vocabulary size and columns.
        key: the ``(B,)`` column that picks a row's renaming.
    """

    def __init__(self, renamings: dict[int, WordRenaming], key: str):
        if not renamings:
            raise UserError("KeyedWordRenaming needs at least one renaming")
        first = next(iter(renamings.values()))
        if any(
            (r.vocab_size, r.columns) != (first.vocab_size, first.columns)
            for r in renamings.values()
        ):
            raise UserError("the renamings must share one vocabulary size and columns")
        self.renamings = renamings
        self.key = key
        self.vocab_size = first.vocab_size
        self.columns = first.columns

    def __call__(
        self, batch: dict[str, Tensor], generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        keys = batch[self.key]  # (B,)
        table = torch.arange(self.vocab_size).expand(len(keys), -1).clone()  # (B, V)
        for value, renaming in sorted(self.renamings.items()):
            rows = (keys == value).nonzero().squeeze(1)
            if len(rows):
                table[rows] = renaming.tables(len(rows), generator)
        return apply_tables(batch, table, self.columns)


def apply_tables(
    batch: dict[str, Tensor], table: Tensor, columns: Sequence[str]
) -> dict[str, Tensor]:
    """The batch with each of ``columns`` mapped through its row's ``(B, V)`` table."""
    size = len(table)
    out = dict(batch)
    for name in columns:
        column = batch[name]
        flat = column.reshape(size, -1).long()  # (B, L)
        out[name] = table.gather(1, flat).reshape(column.shape).to(column.dtype)
    return out
