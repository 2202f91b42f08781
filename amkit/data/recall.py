"""Associative recall: a generated task that needs attention, no dataset required.

An example is a sequence of key-value pairs followed by a query key; the answer is the value
that was paired with the query key::

    tokens:  c 7  a 2  f 9  b 4     query: f   ->  answer: 9

Keys are letters, values digits. The query's attention should land on the pair of the
queried key, which makes the task a clear first look at attention weights.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import torch

from amkit.config import option
from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, register_dataset

PAD = "<pad>"


@dataclass
class RecallDataConfig:
    n_keys: int = option(16, ge=2, le=26)  # size of the key alphabet (letters)
    n_values: int = option(10, ge=2, le=10)  # size of the value alphabet (digits)
    n_pairs: int = option(6, ge=1)  # pairs per sequence
    n_train: int = option(8000, ge=1)
    n_val: int = option(1000, ge=1)
    n_test: int = option(1000, ge=1)

    def validate(self) -> list[str]:
        if self.n_pairs > self.n_keys:
            return [
                f"n_pairs ({self.n_pairs}) must be <= n_keys ({self.n_keys}): keys are distinct"
            ]
        return []


def recall_vocab(config: RecallDataConfig) -> list[str]:
    """Token list: padding, keys (letters), values (digits)."""
    keys = list(string.ascii_lowercase[: config.n_keys])
    values = list(string.digits[: config.n_values])
    return [PAD, *keys, *values]


def generate_recall(config: RecallDataConfig, n: int, generator: torch.Generator) -> dict:
    """``n`` examples: tokens ``(n, 2 * n_pairs)``, query ``(n,)``, targets ``(n,)``."""
    key_ids = torch.argsort(torch.rand(n, config.n_keys, generator=generator), dim=1)
    key_ids = key_ids[:, : config.n_pairs]  # (n, P) distinct keys per example
    values = torch.randint(0, config.n_values, (n, config.n_pairs), generator=generator)
    which = torch.randint(0, config.n_pairs, (n,), generator=generator)
    key_tokens = key_ids + 1  # after <pad>
    value_tokens = values + 1 + config.n_keys
    tokens = torch.stack([key_tokens, value_tokens], dim=2).reshape(n, -1)  # (n, 2P)
    rows = torch.arange(n)
    return {
        "tokens": tokens,
        "query": key_tokens[rows, which],
        "targets": values[rows, which],
    }


@register_dataset("associative_recall", config=RecallDataConfig, task="classification")
def build_recall(config: RecallDataConfig, seed: int) -> DataBundle:
    generator = torch.Generator().manual_seed(seed)
    splits = {
        name: TensorDictDataset(generate_recall(config, n, generator))
        for name, n in (("train", config.n_train), ("val", config.n_val), ("test", config.n_test))
    }
    vocab = recall_vocab(config)
    return DataBundle(
        splits,
        info=DataInfo(
            task="classification",
            vocab=vocab,
            vocab_size=len(vocab),
            n_classes=config.n_values,
            max_len=2 * config.n_pairs,
        ),
    )
