"""Memory blocks: the MemN2N hop stack, key-value memory, the Recurrent Entity Network, the
DNC, the Universal Transformer, and external memory stores."""

from amkit.memory.dnc import DNC
from amkit.memory.entnet import EntityNetwork, PositionMaskEncoder
from amkit.memory.kv import KeyValueMemory, preselect
from amkit.memory.memn2n import MemN2N, position_encoding_weights
from amkit.memory.store import (
    STORES,
    DiskMemoryStore,
    ExactMemoryStore,
    FaissMemoryStore,
    MemoryStore,
    ShardedMemoryStore,
    StoreRead,
    build_disk_store,
    make_store,
)
from amkit.memory.universal_transformer import UniversalTransformer, UTOutput

__all__ = [
    "DNC",
    "STORES",
    "DiskMemoryStore",
    "EntityNetwork",
    "ExactMemoryStore",
    "FaissMemoryStore",
    "KeyValueMemory",
    "MemN2N",
    "MemoryStore",
    "PositionMaskEncoder",
    "ShardedMemoryStore",
    "StoreRead",
    "UTOutput",
    "UniversalTransformer",
    "build_disk_store",
    "make_store",
    "position_encoding_weights",
    "preselect",
]
