"""Link-scoring models over a knowledge graph: a key-value memory network with key hashing,
a relational graph network over the query's neighbourhood, graph embeddings (PyKEEN)."""

from amkit.models.graph.common import GraphReasonerOutput
from amkit.models.graph.kge import ComplExScorer, DistMultScorer, KGEConfig
from amkit.models.graph.kvmem import GraphKVMemConfig, GraphKVMemNet
from amkit.models.graph.rgcn import GraphRGCN, GraphRGCNConfig

__all__ = [
    "ComplExScorer",
    "DistMultScorer",
    "GraphKVMemConfig",
    "GraphKVMemNet",
    "GraphRGCN",
    "GraphRGCNConfig",
    "GraphReasonerOutput",
    "KGEConfig",
]
