"""Model compression for every amkit model family: dynamic int8 quantization, magnitude
pruning, and the ``amkit compress`` run-directory workflow (``amkit.compress.run``)."""

from amkit.compress.methods import (
    CompressConfig,
    apply_compression,
    prune_magnitude,
    quantize_dynamic,
    sparsity,
    weight_bytes,
)

__all__ = [
    "CompressConfig",
    "apply_compression",
    "prune_magnitude",
    "quantize_dynamic",
    "sparsity",
    "weight_bytes",
]
