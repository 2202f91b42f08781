"""Memory blocks: the MemN2N hop stack, key-value memory and external memory stores."""

from amkit.memory.kv import KeyValueMemory, preselect
from amkit.memory.memn2n import MemN2N, position_encoding_weights
from amkit.memory.store import (
    STORES,
    ExactMemoryStore,
    FaissMemoryStore,
    MemoryStore,
    StoreRead,
    make_store,
)

__all__ = [
    "STORES",
    "ExactMemoryStore",
    "FaissMemoryStore",
    "KeyValueMemory",
    "MemN2N",
    "MemoryStore",
    "StoreRead",
    "make_store",
    "position_encoding_weights",
    "preselect",
]
