"""Link-scoring models over a knowledge graph: a key-value memory network with key hashing,
a relational graph network over the query's neighbourhood, graph embeddings (PyKEEN), and
an embedding baseline for questions in words (EmbedKGQA)."""

from amkit.models.graph.common import GraphReasonerOutput
from amkit.models.graph.embedkgqa import EmbedKGQA, EmbedKGQAConfig
from amkit.models.graph.kge import ComplExScorer, DistMultScorer, KGEConfig
from amkit.models.graph.kvmem import GraphKVMemConfig, GraphKVMemNet
from amkit.models.graph.rgcn import GraphRGCN, GraphRGCNConfig

__all__ = [
    "ComplExScorer",
    "DistMultScorer",
    "EmbedKGQA",
    "EmbedKGQAConfig",
    "GraphKVMemConfig",
    "GraphKVMemNet",
    "GraphRGCN",
    "GraphRGCNConfig",
    "GraphReasonerOutput",
    "KGEConfig",
]
