"""Interaction sequences for sequential recommendation (SASRec's protocol).

Readers (each returns ``{user: [item, ...]}`` in chronological order, users and items as
they appear in the file):

- :func:`read_interactions`: any ``user, item[, timestamp]`` CSV or TSV (header optional,
  ``.gz`` or not); with timestamps each user's items are sorted by time (stable), otherwise
  file order is time order. A bad row raises an error naming file:line.
- :func:`read_sasrec_file`: SASRec's own ``user item`` lines (e.g. ``Video.txt``, Amazon Games).
- :func:`read_movielens_1m`: the assembled MovieLens-1M (the ``ml-1m`` folder under
  ``AMKIT_DATA``, see ``amkit data where``): all 1,000,209 interactions per user in time
  order.

Protocol helpers:

- :func:`filter_min_count`: SASRec's preprocessing -- keep interactions whose user and item
  each have at least ``min_count`` interactions (one pass, counted before filtering).
- :func:`renumber`: users and items as 1-based ids in order of first appearance.
- :func:`leave_one_out`: the last item of each user is test, the one before validation, the
  rest training (users with fewer than 3 items train on everything, as SASRec's code does).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, register_dataset
from amkit.data.locations import dataset_path
from amkit.errors import UserError
from amkit.textfile import open_text

Sequences = dict[str, list[str]]


def _split_fields(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter))


def read_interactions(path: str | Path, delimiter: str | None = None) -> Sequences:
    """``user, item[, timestamp]`` rows -> each user's items in time order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such interactions file")
    rows: list[tuple[str, str, float | None, int]] = []
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            sep = delimiter or ("\t" if "\t" in line else ",")
            fields = [f.strip() for f in _split_fields(line, sep)]
            if number == 1 and fields[:2] in (["user", "item"], ["user_id", "item_id"]):
                continue  # header
            if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
                raise UserError(
                    f"{path}:{number}: expected 'user{sep}item[{sep}timestamp]', got {line!r}"
                )
            stamp = None
            if len(fields) == 3:
                try:
                    stamp = float(fields[2])
                except ValueError:
                    raise UserError(
                        f"{path}:{number}: timestamp {fields[2]!r} is not a number"
                    ) from None
            rows.append((fields[0], fields[1], stamp, number))
    if not rows:
        raise UserError(f"{path}: no interactions")
    timed = {r[2] is not None for r in rows}
    if len(timed) > 1:
        raise UserError(f"{path}: some rows have a timestamp and some do not")
    if timed == {True}:
        rows.sort(key=lambda r: r[2])  # stable: ties keep file order
    sequences: Sequences = {}
    for user, item, _, _ in rows:
        sequences.setdefault(user, []).append(item)
    return sequences


def read_sasrec_file(path: str | Path) -> Sequences:
    """SASRec's ``user item`` lines (space-separated, grouped by user, in time order)."""
    path = Path(path)
    sequences: Sequences = {}
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise UserError(f"{path}:{number}: expected 'user item', got {line.strip()!r}")
            sequences.setdefault(fields[0], []).append(fields[1])
    if not sequences:
        raise UserError(f"{path}: no interactions")
    return sequences


def item_knowledge_folder(value: str) -> str | Path:
    """``data.item_knowledge``'s folder: ``ml-1m`` is the dataset's folder under
    ``AMKIT_DATA`` (not ``./ml-1m``); any other value is a path."""
    return dataset_path("ml-1m") if value == "ml-1m" else value


def read_movielens_1m(folder: str | Path | None = None) -> Sequences:
    """MovieLens-1M users' movies in time order, from the folder's AFCFM train + test files
    (``U-g-a-o,I-f`` rows; train in time order, test = each user's latest movie).
    ``folder=None``: the ``ml-1m`` folder under ``AMKIT_DATA``."""
    folder = dataset_path("ml-1m", folder, key="folder")
    sequences: Sequences = {}
    for name in ("afcfm_ml-1m_train.csv.gz", "afcfm_ml-1m_test.csv.gz"):
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist (see {folder / 'README.md'})")
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                user_part, sep, item_part = line.strip().partition(",")
                user, item = user_part.split("-")[0], item_part.split("-")[0]
                if not sep or not user.isdigit() or not item.isdigit():
                    raise UserError(f"{path}:{number}: expected 'U-g-a-o,I-f', got {line!r}")
                sequences.setdefault(user, []).append(item)
    return dict(sorted(sequences.items(), key=lambda kv: int(kv[0])))


def filter_min_count(sequences: Sequences, min_count: int = 5) -> Sequences:
    """Keep interactions of users and items with >= ``min_count`` interactions each (counts
    taken once, before filtering, as SASRec's preprocessing); drops emptied users."""
    items = Counter(item for seq in sequences.values() for item in seq)
    kept: Sequences = {}
    for user, seq in sequences.items():
        if len(seq) < min_count:
            continue
        filtered = [item for item in seq if items[item] >= min_count]
        if filtered:
            kept[user] = filtered
    return kept


def renumber(sequences: Sequences) -> tuple[dict[int, list[int]], dict[str, int], dict[str, int]]:
    """1-based user and item ids in order of first appearance (0 stays free for padding):
    ``(sequences, user_ids, item_ids)``."""
    user_ids: dict[str, int] = {}
    item_ids: dict[str, int] = {}
    out: dict[int, list[int]] = {}
    for user, seq in sequences.items():
        uid = user_ids.setdefault(user, len(user_ids) + 1)
        out[uid] = [item_ids.setdefault(item, len(item_ids) + 1) for item in seq]
    return out, user_ids, item_ids


@dataclass
class LeaveOneOut:
    """Per user: training prefix, validation item (or None) and test item (or None)."""

    train: dict[int, list[int]]
    val: dict[int, int]
    test: dict[int, int]


def leave_one_out(sequences: dict[int, list[int]]) -> LeaveOneOut:
    train, val, test = {}, {}, {}
    for user, seq in sequences.items():
        if len(seq) < 3:
            train[user] = list(seq)
            continue
        train[user], val[user], test[user] = seq[:-2], seq[-2], seq[-1]
    return LeaveOneOut(train, val, test)


def statistics(sequences: Sequences | dict[int, list[int]]) -> dict[str, float]:
    """Users, items, actions and mean actions per user."""
    items = {item for seq in sequences.values() for item in seq}
    actions = sum(len(seq) for seq in sequences.values())
    return {"users": len(sequences), "items": len(items), "actions": actions,
            "actions_per_user": round(actions / max(len(sequences), 1), 1)}  # fmt: skip


def sasrec_lines(sequences: dict[int, list[int]]) -> Iterable[str]:
    """SASRec's file format, ``user item`` per line (e.g. to compare with its ``ml-1m.txt``)."""
    for user, seq in sequences.items():
        for item in seq:
            yield f"{user} {item}\n"


# ---------------------------------------------------------------- dataset for amkit train
@dataclass
class SequencesConfig:
    """Sequences for SASRec-style training and sampled-candidate evaluation."""

    source: str = "ml-1m"  # ml-1m (a folder), sasrec (a user-item file) or interactions (CSV/TSV)
    # null: for ml-1m the ml-1m folder under AMKIT_DATA, for sasrec its sasrec/Video.txt (SASRec's
    # Amazon Games); interactions needs a path
    path: str | None = None
    min_count: int = 5  # SASRec's 5-core filter (0: none)
    max_len: int = 200  # positions the model sees (SASRec: 200 for ML-1M, 50 for others)
    n_negatives: int = 100  # sampled negatives per evaluated user (SASRec: 100)
    negative_seed: int = 0  # fixed, not the run's seed: every model and seed ranks the same lists
    # a folder with movies.dat.gz and MKR's KG files (amkit.data.item_knowledge); ml-1m: the
    # ml-1m folder under AMKIT_DATA; "" = none
    item_knowledge: str = ""

    def validate(self) -> list[str]:
        problems = []
        if self.source not in ("ml-1m", "sasrec", "interactions"):
            problems.append(f"source: expected ml-1m, sasrec or interactions, got {self.source!r}")
        if self.max_len < 2 or self.n_negatives < 1:
            problems.append("max_len must be >= 2 and n_negatives >= 1")
        if self.source == "interactions" and not self.path:
            problems.append("path: source interactions reads your CSV/TSV file; name it")
        return problems


def _left_pad(items: list[int], length: int) -> list[int]:
    items = items[-length:]
    return [0] * (length - len(items)) + items


def _negatives(rng, n_items: int, exclude: set[int], n: int) -> list[int]:
    if n_items - len(exclude) < n:
        raise UserError(f"only {n_items - len(exclude)} items to sample {n} negatives from")
    out: list[int] = []
    while len(out) < n:
        item = int(rng.integers(1, n_items + 1))
        if item not in exclude:
            out.append(item)
    return out


@register_dataset("sequences", config=SequencesConfig, task="ranking")
def build_sequences(config: SequencesConfig, seed: int) -> DataBundle:
    """Leave-one-out tensors: ``train`` {seq, pos, user, targets=1}, ``val`` / ``test`` {seq,
    user, candidates (target first, then ``n_negatives`` items the user never interacted
    with), targets=0, meta_exclude (the whole history, left-padded)}. Negatives are drawn
    with ``negative_seed`` (not the run seed), so every model and seed ranks the same lists.
    ``info["item_counts"]`` holds each item's training interactions (most-popular)."""
    import numpy as np
    import torch

    readers = {"ml-1m": read_movielens_1m, "sasrec": read_sasrec_file,
               "interactions": read_interactions}  # fmt: skip
    path = (
        config.path if config.source == "interactions" else dataset_path(config.source, config.path)
    )  # ml-1m and sasrec are datasets of amkit.data.locations
    raw = readers[config.source](path)
    kept = filter_min_count(raw, config.min_count) if config.min_count > 0 else raw
    numbered, user_ids, item_ids = renumber(kept)
    split = leave_one_out(numbered)
    n_items, length = len(item_ids), config.max_len
    rng = np.random.default_rng(config.negative_seed)
    train_users = [u for u in numbered if len(split.train[u]) > 1]
    train = [(split.train[u][:-1], split.train[u][1:]) for u in train_users]
    tensors = {
        "train": {
            "seq": torch.tensor([_left_pad(s, length) for s, _ in train]),
            "pos": torch.tensor([_left_pad(p, length) for _, p in train]),
            "user": torch.tensor(train_users),
            "targets": torch.ones(len(train), dtype=torch.long),
        }
    }
    for name, targets_of, history in (
        ("val", split.val, lambda u: split.train[u]),
        ("test", split.test, lambda u: split.train[u] + [split.val[u]]),
    ):
        users = [u for u in numbered if u in targets_of]
        candidates = []
        for u in users:
            exclude = set(numbered[u])  # every item the user interacted with
            candidates.append(
                [targets_of[u], *_negatives(rng, n_items, exclude, config.n_negatives)]
            )
        histories = [history(u) for u in users]
        widest = max((len(h) for h in histories), default=1)
        tensors[name] = {
            "seq": torch.tensor([_left_pad(h, length) for h in histories]),
            "candidates": torch.tensor(candidates),
            "user": torch.tensor(users),
            "targets": torch.zeros(len(users), dtype=torch.long),
            # the whole history, for full ranking (items the user had are not recommended)
            "meta_exclude": torch.tensor(
                [_left_pad(h, widest) for h in histories], dtype=torch.int32
            ),
        }
    counts = Counter(item for u in numbered for item in split.train[u])
    item_counts = torch.zeros(n_items + 1)
    item_counts[list(counts)] = torch.tensor(list(counts.values()), dtype=torch.float32)
    info = DataInfo(
        task="ranking",
        n_items=n_items,
        n_users=len(numbered),
        max_len=length,
        n_classes=2,
        item_counts=item_counts,
        statistics=statistics(numbered),
        item_names={i: raw for raw, i in item_ids.items()},
        user_names={i: raw for raw, i in user_ids.items()},
    )
    if config.item_knowledge:
        from amkit.data.item_knowledge import build_item_knowledge

        folder = item_knowledge_folder(config.item_knowledge)
        info.item_knowledge = build_item_knowledge(item_ids, folder)
    return DataBundle({k: TensorDictDataset(v) for k, v in tensors.items()}, info=info)
