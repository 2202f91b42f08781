"""Datasets: readers and generators that return :class:`DataBundle` objects by name."""

from amkit.data import babi as babi  # registers babi
from amkit.data import countries as countries  # registers countries
from amkit.data import forecasting as forecasting  # registers timeseries
from amkit.data import fsdd as fsdd  # registers fsdd
from amkit.data import house as house  # registers house_stories
from amkit.data import images as images  # registers fashion_mnist, digits
from amkit.data import imdb as imdb  # registers imdb
from amkit.data import kbqa as kbqa  # registers kbqa
from amkit.data import recall as recall  # registers associative_recall
from amkit.data import recsys as recsys  # registers sequences
from amkit.data import stories as stories  # registers babi_generated
from amkit.data import text as text  # registers text
from amkit.data.base import DATASETS, DataBundle, TensorDictDataset, iterate_batches

__all__ = ["DATASETS", "DataBundle", "TensorDictDataset", "iterate_batches"]
