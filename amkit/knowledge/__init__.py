"""External knowledge: knowledge bases of triples and word lexicons (WordNet, vectors and the
fusion blocks are issue 6's next steps; see docs/STATUS.md)."""

from amkit.knowledge.base import Fact, KnowledgeBase
from amkit.knowledge.lexicon import Lexicon

__all__ = ["Fact", "KnowledgeBase", "Lexicon"]
