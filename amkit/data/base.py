"""Datasets as dicts of tensors, batching, and the dataset registry.

A dataset builder takes its config dataclass and a seed and returns a :class:`DataBundle`:
the splits plus ``info`` (what a model needs to know, e.g. ``vocab_size``, ``n_classes``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from amkit.registry import Registry

DATASETS = Registry("dataset")
"""Datasets by name (``data.name`` in a config): each entry pairs a config dataclass with
a builder ``(config, seed) -> DataBundle``; ``amkit ls`` prints them. An unknown name is an
error that lists the known ones."""


class TensorDictDataset:
    """Equal-length tensors under names; ``ds[i]`` is a dict of rows.

    Every tensor's first dimension is the example index. Includes ``targets`` for
    supervised tasks; names starting with ``meta_`` (e.g. ``meta_task``) are bookkeeping
    for evaluation and explanation, not model inputs.

    ``trim`` names ``(N, T)`` columns of right-padded (with 0) sequences: a batch of them is
    cut to its longest row instead of the longest in the whole split. With ``bucket_pool``
    N > 0, shuffled batches group rows of similar length (:func:`iterate_batches`): the
    length is ``row_lengths`` ``(N,)`` when given (e.g. sentences in a bAbI story), else the
    real entries of the ``trim`` columns. Translation data sets both.

    ``augment`` (``augment(batch, generator) -> batch``, e.g.
    :class:`amkit.data.renaming.WordRenaming`) rewrites each *shuffled* batch, i.e. training
    batches; evaluation iterates unshuffled and sees the data as it is.
    """

    def __init__(
        self,
        tensors: dict[str, Tensor],
        trim: tuple[str, ...] = (),
        bucket_pool: int = 0,
        row_lengths: Tensor | None = None,
        augment: Callable[[dict[str, Tensor], torch.Generator | None], dict[str, Tensor]]
        | None = None,
    ):
        if not tensors:
            raise ValueError("a dataset needs at least one tensor")
        lengths = {name: len(t) for name, t in tensors.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"all tensors must have the same length, got {lengths}")
        unknown = [name for name in trim if name not in tensors or tensors[name].dim() != 2]
        if unknown:
            raise ValueError(f"trim names columns that are not (N, T) tensors: {unknown}")
        if bucket_pool and not trim and row_lengths is None:
            raise ValueError(
                "bucket_pool sorts rows by length: name the trim columns or give row_lengths"
            )
        self.tensors = tensors
        if row_lengths is not None and row_lengths.shape != (len(self),):
            raise ValueError(f"row_lengths must be (N,), got {tuple(row_lengths.shape)}")
        self.trim = tuple(trim)
        self.bucket_pool = bucket_pool
        self.row_lengths = row_lengths
        self.augment = augment

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, index: Any) -> dict[str, Tensor]:
        rows = {name: t[index] for name, t in self.tensors.items()}
        for name in self.trim:
            column = rows[name]
            if column.dim() == 2 and column.shape[1]:
                real = (column != 0).any(0).nonzero()
                rows[name] = column[:, : int(real.max()) + 1 if len(real) else 1]
        return rows

    def lengths(self) -> Tensor:
        """``(N,)`` each row's length: ``row_lengths``, or its real (non-zero) entries over the
        ``trim`` columns."""
        if self.row_lengths is not None:
            return self.row_lengths
        return sum((self.tensors[name] != 0).sum(1) for name in self.trim)


META_PREFIX = "meta_"


def pad_rows(rows: list[list[int]], width: int | None = None, value: int = 0) -> Tensor:
    """``(N, width)`` long tensor of ``rows`` right-padded with ``value``; ``width`` defaults
    to the longest row (at least 1). Rows must not be longer than ``width``."""
    width = width or max((len(r) for r in rows), default=1) or 1
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def model_inputs(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """The batch without ``meta_*`` entries (bookkeeping the model does not take)."""
    return {k: v for k, v in batch.items() if not k.startswith(META_PREFIX)}


def iterate_batches(
    dataset: TensorDictDataset,
    batch_size: int,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
) -> Iterator[dict[str, Tensor]]:
    """Yield dict batches; the last partial batch is kept (every example is scored).

    Shuffled batches of a dataset with a ``bucket_pool`` N are bucketed: the shuffled rows are
    cut into pools of N batches, each pool sorted by length and cut into batches, and the
    batches shuffled -- less padding, still random (but each batch more alike: small models
    can learn worse from such batches, so it is an option). Unshuffled batches keep the
    dataset order. Shuffled batches pass through the dataset's ``augment``, drawing from the
    same ``generator``."""
    n = len(dataset)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    starts = range(0, n, batch_size)
    if shuffle and dataset.bucket_pool:
        lengths = dataset.lengths()
        pool = dataset.bucket_pool * batch_size
        order = torch.cat([
            chunk[torch.argsort(lengths[chunk], stable=True)] for chunk in order.split(pool)
        ])  # fmt: skip
        starts = [int(i) * batch_size for i in torch.randperm(len(starts), generator=generator)]
    augment = dataset.augment if shuffle else None
    for start in starts:
        batch = dataset[order[start : start + batch_size]]
        yield augment(batch, generator) if augment is not None else batch


@dataclass
class DataBundle:
    """Splits of one dataset plus what models need to know about it.

    ``files`` (name -> text or bytes) are written into the run directory, e.g. the vocabulary a
    text model needs to read new input without rebuilding the dataset.
    """

    splits: dict[str, TensorDictDataset]
    info: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str | bytes] = field(default_factory=dict)

    def split(self, name: str) -> TensorDictDataset:
        if name not in self.splits:
            raise KeyError(f"no split {name!r}; available: {', '.join(self.splits)}")
        return self.splits[name]


@dataclass
class DatasetEntry:
    build: Any
    config_cls: type


def register_dataset(name: str, config: type):
    """Function decorator: ``build(config, seed) -> DataBundle`` registered under ``name``."""

    def decorator(fn):
        DATASETS.register(name)(DatasetEntry(fn, config))
        return fn

    return decorator
