"""Datasets as dicts of tensors, batching, and the dataset registry.

A dataset builder takes its config dataclass and a seed and returns a :class:`DataBundle`:
the splits plus ``info``, a :class:`DataInfo` (what a model needs to know: the task, the
vocabulary, the number of classes, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

from amkit.errors import UserError
from amkit.graph.triples import TriplesGraph
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
            raise UserError("a dataset needs at least one tensor")
        lengths = {name: len(t) for name, t in tensors.items()}
        if len(set(lengths.values())) != 1:
            raise UserError(f"all tensors must have the same length, got {lengths}")
        unknown = [name for name in trim if name not in tensors or tensors[name].dim() != 2]
        if unknown:
            raise UserError(f"trim names columns that are not (N, T) tensors: {unknown}")
        if bucket_pool and not trim and row_lengths is None:
            raise UserError(
                "bucket_pool sorts rows by length: name the trim columns or give row_lengths"
            )
        self.tensors = tensors
        if row_lengths is not None and row_lengths.shape != (len(self),):
            raise UserError(f"row_lengths must be (N,), got {tuple(row_lengths.shape)}")
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


TASKS = ("classification", "story_qa", "translation", "ranking", "forecasting")

# the fields of DataInfo that describe the data itself (JSON-able): saved in a run directory
# as data_info.json, so a trained run builds its model without its training data
SAVED_INFO_FIELDS = (
    "task", "n_classes", "vocab", "vocab_size", "max_len", "label_names", "memory_size",
    "sentence_len", "query_len", "answer_ids", "n_items", "n_users", "item_names",
    "user_names", "graph", "n_channels", "lookback", "horizon", "channel_names", "scaler_mean",
    "scaler_std", "train_rows", "n_features", "image_shape", "image_mean", "image_std",
)  # fmt: skip


@dataclass
class DataInfo:
    """What the data tells a model: its task and sizes, built by every dataset reader.

    A model is built as ``ModelClass(config, info)``; it reads only the fields of its task.
    The task is stated, never guessed from which fields are set.

    Attributes:
        task: ``classification`` (one label per example), ``story_qa`` (bAbI-style: a story
            and a question, the answer a vocabulary word), ``translation`` (a target
            sentence), ``ranking`` (recommendation: items ranked for a user),
            ``forecasting`` (the next ``horizon`` steps of a multivariate series).
        n_classes: C, the width of the model's logits (labels, answer words, or target
            tokens); 2 for ranking (a positive and its negatives); the channels for
            forecasting.
        vocab: the input vocabulary, id -> word (word-level text and story data).
        vocab_size: V, the number of input token ids (with padding and unknown).
        max_len: the longest input sequence a model must take.
        label_names: class id -> name (classification).
        memory_size: M, story sentences kept per question (story QA).
        sentence_len: L, words per sentence (story QA).
        query_len: Lq, words per question (story QA).
        answer_ids: the vocabulary ids that are answers somewhere in the data (story QA).
        n_items: items, ids 1..n_items, 0 = padding (ranking).
        n_users: users (ranking).
        item_counts: ``(n_items + 1,)`` training interactions per item (ranking).
        item_names: item id -> the id in the data file (ranking).
        user_names: user id -> the id in the data file (ranking).
        n_channels: C, the series' columns (forecasting).
        lookback: L, the rows a forecast reads (forecasting).
        horizon: H, the rows it forecasts (forecasting).
        channel_names: the C column names (forecasting).
        scaler_mean: per channel, the training rows' mean the data was scaled with.
        scaler_std: per channel, the training rows' std the data was scaled with.
        train_rows: the training split's rows (forecasting).
        train_series: ``(T_train, C)`` the scaled training rows (forecasting; not saved).
        n_features: F, the width of each input frame (speech: mel bands).
        image_shape: ``[C, H, W]`` of the input images (image classification).
        image_mean: per-channel mean subtracted from pixels in [0, 1] (images).
        image_std: per-channel standard deviation pixels are divided by (images).
        item_knowledge: per-item knowledge built from the data's item files (ranking).
        tokenizer: the subword tokenizer (translation).
        references: split -> target sentences as in the data, for BLEU (translation).
        sources: split -> source sentences (translation).
        statistics: counts that describe the data (reported, not used by models).
        notes: what the reader changed or dropped, for the run's log.
        examples: split -> the parsed examples, for explanations.
        graph: the knowledge graph a graph reasoner reads (a
            :class:`~amkit.graph.TriplesGraph`; link scoring).
    """

    task: Literal["classification", "story_qa", "translation", "ranking", "forecasting"]
    n_classes: int
    vocab: list[str] | None = None
    vocab_size: int | None = None
    max_len: int | None = None
    label_names: list[str] | None = None
    memory_size: int | None = None
    sentence_len: int | None = None
    query_len: int | None = None
    answer_ids: list[int] | None = None
    n_items: int | None = None
    n_users: int | None = None
    item_counts: Tensor | None = None
    item_names: dict[int, str] | None = None
    user_names: dict[int, str] | None = None
    n_channels: int | None = None
    lookback: int | None = None
    horizon: int | None = None
    channel_names: list[str] | None = None
    scaler_mean: list[float] | None = None
    scaler_std: list[float] | None = None
    train_rows: int | None = None
    train_series: Tensor | None = None
    n_features: int | None = None
    image_shape: list[int] | None = None
    image_mean: list[float] | None = None
    image_std: list[float] | None = None
    item_knowledge: Any = None
    tokenizer: Any = None
    references: dict[str, list[str]] | None = None
    sources: dict[str, list[str]] | None = None
    statistics: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    examples: dict[str, list[Any]] | None = None
    graph: Any = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UserError(f"DataInfo.task: {self.task!r} is not one of {', '.join(TASKS)}")

    def to_json(self, with_vocab: bool = True) -> dict[str, Any]:
        """The fields that describe the data (:data:`SAVED_INFO_FIELDS`), JSON-able; id ->
        name maps become lists indexed by id. ``with_vocab=False`` leaves the vocabulary out
        (a text run keeps it in ``vocab.json``)."""
        out = {}
        for name in SAVED_INFO_FIELDS:
            value = getattr(self, name)
            if name in ("item_names", "user_names") and value is not None:
                value = [value.get(i) for i in range(max(value, default=-1) + 1)]
            if name == "vocab" and not with_vocab:
                value = None
            if name == "graph" and value is not None:  # a TriplesGraph: names and id triples
                value = {"entities": value.entities, "relations": value.relations,
                         "triples": value.triples.tolist()}  # fmt: skip
            out[name] = value
        return out

    @classmethod
    def from_json(cls, data: Any, source: str = "data_info.json") -> DataInfo:
        """Read :meth:`to_json`'s output back; a bad file is a :class:`UserError` naming
        ``source``."""
        if not isinstance(data, dict):
            raise UserError(f"{source}: expected a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(SAVED_INFO_FIELDS))
        missing = [key for key in ("task", "n_classes") if key not in data]
        if unknown or missing:
            raise UserError(
                f"{source}: not a saved DataInfo (unknown keys {unknown}, missing {missing}); "
                f"known keys: {', '.join(SAVED_INFO_FIELDS)}"
            )
        data = dict(data)
        for name in ("item_names", "user_names"):
            if data.get(name) is not None:
                data[name] = {i: raw for i, raw in enumerate(data[name]) if raw is not None}
        if data.get("graph") is not None:
            graph = data["graph"]
            if not isinstance(graph, dict) or set(graph) != {"entities", "relations", "triples"}:
                raise UserError(f"{source}: graph must hold entities, relations and triples")
            data["graph"] = TriplesGraph(graph["entities"], graph["relations"],
                                         torch.tensor(graph["triples"], dtype=torch.long
                                                      ).reshape(-1, 3))  # fmt: skip
        return cls(**data)


@dataclass
class DataBundle:
    """Splits of one dataset plus what models need to know about it.

    ``files`` (name -> text or bytes) are written into the run directory, e.g. the vocabulary a
    text model needs to read new input without rebuilding the dataset.
    """

    splits: dict[str, TensorDictDataset]
    info: DataInfo
    files: dict[str, str | bytes] = field(default_factory=dict)

    def split(self, name: str) -> TensorDictDataset:
        if name not in self.splits:
            raise KeyError(f"no split {name!r}; available: {', '.join(self.splits)}")
        return self.splits[name]


@dataclass
class DatasetEntry:
    build: Any
    config_cls: type
    task: str  # what DataInfo.task its bundles state: known from a run's config alone


def register_dataset(name: str, config: type, task: str):
    """Function decorator: ``build(config, seed) -> DataBundle`` registered under ``name``;
    ``task`` (one of :data:`TASKS`) is the ``DataInfo.task`` of what it builds, so a run's
    task is known from its config without building its data (``amkit explain``)."""
    if task not in TASKS:
        raise UserError(f"dataset {name!r}: task {task!r} is not one of {', '.join(TASKS)}")

    def decorator(fn):
        DATASETS.register(name)(DatasetEntry(fn, config, task))
        return fn

    return decorator
