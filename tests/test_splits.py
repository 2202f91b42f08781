"""Seeded stratified splits: disjoint, complete, class shares kept, reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from amkit.data.splits import kfold_splits, stratified_split

LABELS = np.array([0] * 600 + [1] * 300 + [2] * 100)


def test_parts_are_disjoint_complete_and_keep_class_shares():
    train, val, test = stratified_split(LABELS, (0.8, 0.1, 0.1), seed=3)
    assert (len(train), len(val), len(test)) == (800, 100, 100)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(1000))
    for part in (train, val, test):
        shares = np.bincount(LABELS[part], minlength=3) / len(part)
        np.testing.assert_allclose(shares, [0.6, 0.3, 0.1], atol=0.011)


def test_the_seed_decides_the_split():
    a = stratified_split(LABELS, (0.9, 0.1), seed=0)
    assert all(
        np.array_equal(x, y)
        for x, y in zip(a, stratified_split(LABELS, (0.9, 0.1), 0), strict=True)
    )
    assert not np.array_equal(a[1], stratified_split(LABELS, (0.9, 0.1), seed=1)[1])


def test_kfold_holds_every_example_out_once():
    held = np.concatenate([h for _, h in kfold_splits(LABELS, k=5, seed=0)])
    assert np.array_equal(np.sort(held), np.arange(1000))
    for fit, held_out in kfold_splits(LABELS, k=5, seed=0):
        assert not set(fit) & set(held_out)
        assert np.bincount(LABELS[held_out]).tolist() == [120, 60, 20]


@pytest.mark.parametrize("fractions", [(0.5, 0.4), (1.0,), (0.5, 0.6, -0.1)])
def test_bad_fractions_are_named(fractions):
    with pytest.raises(ValueError, match="fractions must be"):
        stratified_split(LABELS, fractions)
