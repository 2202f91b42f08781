"""External knowledge: knowledge bases of triples, word lexicons, pretrained word vectors and
linking, fusion blocks and distillation; WordNet in ``amkit.knowledge.wordnet`` (needs NLTK),
KG embeddings in ``amkit.knowledge.kg_embeddings`` (needs PyKEEN), per-vocabulary knowledge
tables for text models in ``amkit.knowledge.tables`` (docs/knowledge.md)."""

from amkit.knowledge.base import Fact, KnowledgeBase
from amkit.knowledge.distill import distillation_loss
from amkit.knowledge.embeddings import Embeddings
from amkit.knowledge.fusion import ConcatFusion, GatedFusion, KnowledgeAttention
from amkit.knowledge.lexicon import Lexicon
from amkit.knowledge.linking import EntityLinker, Mention

__all__ = [
    "ConcatFusion",
    "Embeddings",
    "EntityLinker",
    "Fact",
    "GatedFusion",
    "KnowledgeAttention",
    "KnowledgeBase",
    "Lexicon",
    "Mention",
    "distillation_loss",
]
