"""Knowledge graphs as reusable blocks: a triples graph with an inverted index, readers of
graph files, a key-value memory that reads it hop by hop with key hashing, and AUC-PR as
link-scoring benchmarks compute it."""

from amkit.graph.kvmem import GraphKVMemory, GraphMemoryRead, HopAttention, hashed_slots
from amkit.graph.metrics import auc_pr
from amkit.graph.readers import read_names, read_nl_facts, read_tsv_triples
from amkit.graph.triples import TriplesGraph

__all__ = [
    "GraphKVMemory",
    "GraphMemoryRead",
    "HopAttention",
    "TriplesGraph",
    "auc_pr",
    "hashed_slots",
    "read_names",
    "read_nl_facts",
    "read_tsv_triples",
]
