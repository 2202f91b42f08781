"""Knowledge graphs as reusable blocks: a triples graph with an inverted index, readers of
graph files, a key-value memory that reads it hop by hop with key hashing, R-GCN layers and a
graph memory over the neighbourhood of some entities (PyTorch Geometric, imported when
used), and AUC-PR as link-scoring benchmarks compute it."""

from amkit.graph.kvmem import GraphKVMemory, GraphMemoryRead, HopAttention, hashed_slots
from amkit.graph.metrics import auc_pr
from amkit.graph.readers import read_names, read_nl_facts, read_tsv_triples
from amkit.graph.rgcn import GraphMemory, Neighbourhoods, RGCNStack, neighbourhoods
from amkit.graph.triples import TriplesGraph

__all__ = [
    "GraphKVMemory",
    "GraphMemory",
    "GraphMemoryRead",
    "HopAttention",
    "Neighbourhoods",
    "RGCNStack",
    "TriplesGraph",
    "auc_pr",
    "hashed_slots",
    "neighbourhoods",
    "read_names",
    "read_nl_facts",
    "read_tsv_triples",
]
