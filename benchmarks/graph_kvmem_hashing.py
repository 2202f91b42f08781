"""Time a 3-hop key-value memory read over all of WN18RR with key hashing, on the CPU.

    python benchmarks/graph_kvmem_hashing.py [--questions 50] [--top-k 100] [--threads 1]

Reads ``train.txt`` of ``kg/WN18RR.tar.gz`` under ``AMKIT_DATA`` (86,835 triples; with
reciprocals and a self loop for each of its 40,559 entities the memory holds 214,229
slots), then answers
``--questions`` one-entity questions (random entities, seed 0) with 3 hops, keeping the
``--top-k`` most likely entities per hop, and prints the median and 95th percentile
milliseconds per question, and the slots hashing kept per hop against the whole memory.
The target: under 50 ms per question.
"""

import argparse
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import torch

from amkit.data.locations import data_home
from amkit.graph import GraphKVMemory, TriplesGraph, read_tsv_triples

parser = argparse.ArgumentParser()
parser.add_argument("--questions", type=int, default=50)
parser.add_argument("--top-k", type=int, default=100)
parser.add_argument("--threads", type=int, default=1)
args = parser.parse_args()
torch.set_num_threads(args.threads)

archive = data_home() / "kg" / "WN18RR.tar.gz"
with tempfile.TemporaryDirectory() as folder, tarfile.open(archive) as tar:
    tar.extract("train.txt", folder, filter="data")
    triples = read_tsv_triples(Path(folder) / "train.txt")
graph = TriplesGraph.from_labeled(triples).with_inverses().with_self_loops()
print(f"WN18RR: {len(graph.entities)} entities, {len(graph)} memory slots")

torch.manual_seed(0)
memory = GraphKVMemory(len(graph.relations), d_key=32, hops=3, top_k=args.top_k).eval()
queries = torch.randn(1, 3, 32)
entities = torch.randint(0, len(graph.entities), (args.questions + 5,))
times, kept = [], []
with torch.no_grad():
    for i, entity in enumerate(entities):
        start = torch.zeros(1, len(graph.entities))
        start[0, entity] = 1.0
        began = time.perf_counter()
        read = memory(graph, start, queries)
        elapsed = time.perf_counter() - began
        if i >= 5:  # warm-up
            times.append(elapsed * 1000)
            kept.append([len(h.slots) for h in read.hops])
times.sort()
print(
    f"3 hops, top_k {args.top_k}: median {statistics.median(times):.1f} ms, "
    f"p95 {times[int(0.95 * len(times)) - 1]:.1f} ms per question ({args.threads} thread)"
)
mean_kept = [sum(k[h] for k in kept) / len(kept) for h in range(3)]
print(
    "slots kept per hop (mean): " + ", ".join(f"{k:.0f}" for k in mean_kept) + f" of {len(graph)}"
)
