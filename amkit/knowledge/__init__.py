"""External knowledge: knowledge bases of triples, word lexicons, pretrained word vectors and
fusion blocks and distillation. WordNet, KG embeddings and linking are issue 6's next
steps (see docs/STATUS.md)."""

from amkit.knowledge.base import Fact, KnowledgeBase
from amkit.knowledge.distill import distillation_loss
from amkit.knowledge.embeddings import Embeddings
from amkit.knowledge.fusion import ConcatFusion, GatedFusion, KnowledgeAttention
from amkit.knowledge.lexicon import Lexicon

__all__ = [
    "ConcatFusion",
    "Embeddings",
    "Fact",
    "GatedFusion",
    "KnowledgeAttention",
    "KnowledgeBase",
    "Lexicon",
    "distillation_loss",
]
