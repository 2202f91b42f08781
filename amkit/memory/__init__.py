"""Memory blocks: the MemN2N hop stack (more to come: key-value memory, memory stores)."""

from amkit.memory.memn2n import MemN2N, position_encoding_weights

__all__ = ["MemN2N", "position_encoding_weights"]
