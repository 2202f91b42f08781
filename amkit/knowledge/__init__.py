"""External knowledge: knowledge bases of triples, word lexicons and fusion blocks (WordNet,
pretrained vectors, KnowledgeAttention and distillation are issue 6's next steps; see
docs/STATUS.md)."""

from amkit.knowledge.base import Fact, KnowledgeBase
from amkit.knowledge.fusion import ConcatFusion, GatedFusion
from amkit.knowledge.lexicon import Lexicon

__all__ = ["ConcatFusion", "Fact", "GatedFusion", "KnowledgeBase", "Lexicon"]
