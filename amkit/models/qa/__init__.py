"""Question answering over a story memory (bAbI): one model family per module.

Each model reads ``story (B, M, L)`` and ``query (B, Lq)`` and answers with a vocabulary
word; ``need_weights=True`` returns its memory attention in the family's output dataclass.
"""

from amkit.models.qa.dnc import DNCQA, DNCConfig, DNCOutput
from amkit.models.qa.entnet import EntNetConfig, EntNetOutput, EntNetQA
from amkit.models.qa.memn2n import MemN2NConfig, MemN2NOutput, MemN2NQA
from amkit.models.qa.universal_transformer import (
    CopyPointer,
    UniversalTransformerQA,
    UTConfig,
    UTQAOutput,
)

__all__ = [
    "DNCQA",
    "CopyPointer",
    "DNCConfig",
    "DNCOutput",
    "EntNetConfig",
    "EntNetOutput",
    "EntNetQA",
    "MemN2NConfig",
    "MemN2NOutput",
    "MemN2NQA",
    "UTConfig",
    "UTQAOutput",
    "UniversalTransformerQA",
]
