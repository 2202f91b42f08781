"""Batches: padding trimmed per batch, length-bucketed shuffling that still covers every row."""

from __future__ import annotations

import pytest
import torch

from amkit.data.base import TensorDictDataset, iterate_batches


def _padded(lengths: list[int], width: int = 40) -> torch.Tensor:
    rows = torch.zeros(len(lengths), width, dtype=torch.long)
    for i, n in enumerate(lengths):
        rows[i, :n] = torch.arange(1, n + 1)
    return rows


def test_trimmed_batches_are_cut_to_their_longest_row_and_lose_no_token():
    lengths = [3, 7, 2, 5, 1, 9]
    data = TensorDictDataset(
        {"src": _padded(lengths), "other": _padded(lengths), "label": torch.arange(6)},
        trim=("src",),
    )
    batch = data[torch.tensor([0, 2, 4])]
    assert batch["src"].shape == (3, 3) and batch["other"].shape == (3, 40)  # only trim cols
    assert torch.equal(batch["src"], data.tensors["src"][[0, 2, 4], :3])
    assert data[1]["src"].shape == (40,)  # a single row is left alone
    with pytest.raises(ValueError, match="not \\(N, T\\) tensors"):
        TensorDictDataset({"label": torch.arange(3)}, trim=("label",))
    with pytest.raises(ValueError, match="name the trim columns"):
        TensorDictDataset({"src": _padded(lengths)}, bucket_pool=10)


def test_bucketed_shuffle_covers_every_row_once_and_pads_less_than_random():
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 41, (2000,), generator=generator).tolist()
    trimmed = TensorDictDataset({"src": _padded(lengths), "i": torch.arange(2000)}, trim=("src",),
                                bucket_pool=50)  # fmt: skip
    plain = TensorDictDataset({"src": _padded(lengths), "i": torch.arange(2000)})

    def padding(dataset, seed):
        seen, cells = [], 0
        for batch in iterate_batches(dataset, 32, shuffle=True,
                                     generator=torch.Generator().manual_seed(seed)):  # fmt: skip
            seen += batch["i"].tolist()
            real = int(torch.tensor([lengths[i] for i in batch["i"]]).max())
            cells += len(batch["i"]) * (batch["src"].shape[1] if dataset.bucket_pool else real)
        assert sorted(seen) == list(range(2000))
        return cells, seen

    bucketed, order_a = padding(trimmed, 1)
    random_batches, _ = padding(plain, 1)
    assert bucketed < 0.7 * random_batches  # per-batch trimming alone is random_batches
    assert order_a == padding(trimmed, 1)[1] and order_a != padding(trimmed, 2)[1]
    # unshuffled batches keep the dataset order (evaluation, BLEU, probabilities)
    unshuffled = [b["i"] for b in iterate_batches(trimmed, 32)]
    assert torch.equal(torch.cat(unshuffled), torch.arange(2000))
