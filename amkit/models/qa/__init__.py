"""Question answering over a story memory (bAbI): one model family per module.

Each model reads ``story (B, M, L)`` and ``query (B, Lq)`` and answers with a vocabulary
word; ``need_weights=True`` returns its memory attention.
"""

from amkit.models.qa.dnc import DNCQA, DNCConfig
from amkit.models.qa.entnet import EntNetConfig, EntNetQA
from amkit.models.qa.memn2n import MemN2NConfig, MemN2NQA
from amkit.models.qa.universal_transformer import CopyPointer, UniversalTransformerQA, UTConfig

__all__ = [
    "DNCQA",
    "CopyPointer",
    "DNCConfig",
    "EntNetConfig",
    "EntNetQA",
    "MemN2NConfig",
    "MemN2NQA",
    "UTConfig",
    "UniversalTransformerQA",
]
