"""External knowledge: knowledge bases of triples (lexicons, WordNet, vectors and fusion
blocks are issue 6's next steps; see docs/STATUS.md)."""

from amkit.knowledge.base import Fact, KnowledgeBase

__all__ = ["Fact", "KnowledgeBase"]
