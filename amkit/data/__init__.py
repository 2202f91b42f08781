"""Datasets: readers and generators that return :class:`DataBundle` objects by name."""

from amkit.data import recall as recall  # registers associative_recall
from amkit.data.base import DATASETS, DataBundle, TensorDictDataset, iterate_batches

__all__ = ["DATASETS", "DataBundle", "TensorDictDataset", "iterate_batches"]
