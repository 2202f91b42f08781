"""The graph blocks: the triples graph and its inverted index, the readers' errors, AUC-PR,
and the key-value memory's key hashing and attention contracts."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from amkit.errors import UserError
from amkit.graph import (
    GraphKVMemory,
    TriplesGraph,
    auc_pr,
    hashed_slots,
    read_names,
    read_nl_facts,
    read_tsv_triples,
)

FACTS = [
    ("france", "neighborOf", "spain"),
    ("spain", "neighborOf", "france"),
    ("spain", "locatedIn", "southern_europe"),
    ("southern_europe", "locatedIn", "europe"),
    ("france", "locatedIn", "western_europe"),
    ("western_europe", "locatedIn", "europe"),
    ("egypt", "locatedIn", "africa"),
]


def random_graph(n_entities=40, n_triples=200, n_relations=4, seed=0) -> TriplesGraph:
    rng = random.Random(seed)
    triples = [
        (f"e{rng.randrange(n_entities)}", f"r{rng.randrange(n_relations)}",
         f"e{rng.randrange(n_entities)}")
        for _ in range(n_triples)
    ]  # fmt: skip
    return TriplesGraph.from_labeled(triples)


def test_vocabularies_and_index():
    graph = TriplesGraph.from_labeled(FACTS, entities=["asia"])
    assert graph.entities[0] == "asia" and len(graph) == len(FACTS)
    assert graph.relations == ["neighborOf", "locatedIn"]
    spain = graph.entity_id("spain")
    assert sorted(graph.describe(i) for i in graph.slots_of(torch.tensor([spain])).tolist()) == [
        "spain locatedIn southern_europe",
        "spain neighborOf france",
    ]
    assert graph.slots_of(torch.tensor([graph.entity_id("asia")])).numel() == 0
    with pytest.raises(UserError, match="unknown relation 'capital'.*locatedIn"):
        graph.relation_id("capital")


@pytest.mark.parametrize("seed", range(5))
def test_hashing_keeps_exactly_what_a_scan_keeps(seed):
    graph = random_graph(seed=seed)
    rng = random.Random(seed)
    subjects = torch.tensor(rng.sample(range(len(graph.entities)), 7))
    scan = [i for i, (s, _, _) in enumerate(graph.triples.tolist()) if s in set(subjects.tolist())]
    assert sorted(graph.slots_of(subjects).tolist()) == scan
    frontier = torch.zeros(2, len(graph.entities))
    frontier[0, subjects[:3]] = 0.5
    frontier[1, subjects[3:]] = 0.25
    assert sorted(hashed_slots(graph, frontier).tolist()) == scan


def test_inverses_and_self_loops():
    graph = TriplesGraph.from_labeled(FACTS).with_inverses().with_self_loops()
    assert len(graph) == 2 * len(FACTS) + len(graph.entities)
    assert graph.relations[-1] == "self" and "locatedIn_inv" in graph.relations
    assert graph.describe(len(FACTS) + 2) == "southern_europe locatedIn_inv spain"


def kv_setup(seed=0, batch=3):
    torch.manual_seed(seed)
    graph = random_graph(seed=seed).with_inverses().with_self_loops()
    memory = GraphKVMemory(len(graph.relations), d_key=8, hops=3)
    start = torch.zeros(batch, len(graph.entities))
    for b in range(batch):
        start[b, b] = 1.0
    return graph, memory, start, torch.randn(batch, 3, 8)


def test_attention_sums_to_one_and_is_zero_off_the_frontier():
    graph, memory, start, queries = kv_setup()
    read = memory(graph, start, queries)
    frontier = start
    for hop in read.hops:
        subjects = graph.triples[hop.slots, 0]
        assert torch.allclose(hop.weights.sum(1), torch.ones(len(start)), atol=1e-5)
        off = frontier[:, subjects] == 0  # (B, S): a row's slots whose subject it is not on
        assert off.any() and (hop.weights[off] == 0).all()
        assert torch.allclose(hop.answers.sum(1), torch.ones(len(start)), atol=1e-5)
        frontier = hop.answers
    assert torch.equal(read.answers, read.hops[-1].answers)


def test_hidden_slots_get_no_weight_and_the_first_hop_matches_a_naive_loop():
    graph, memory, start, queries = kv_setup(seed=1, batch=1)
    hidden = torch.zeros(1, len(graph), dtype=torch.bool)
    first = graph.slots_of(torch.tensor([0]))
    hidden[0, first[0]] = True
    hop = memory(graph, start, queries, hidden).hops[0]
    where = {slot: i for i, slot in enumerate(hop.slots.tolist())}
    assert hop.weights[0, where[int(first[0])]] == 0
    # naive: softmax over the subject's remaining slots of q . key(relation)
    kept = [int(i) for i in first[1:]]
    logits = torch.stack([queries[0, 0] @ memory.keys.weight[graph.triples[i, 1]] for i in kept])
    expected = logits.softmax(0)
    got = torch.stack([hop.weights[0, where[i]] for i in kept])
    assert torch.allclose(got, expected, atol=1e-6)


def test_gradients_reach_the_keys():
    graph, memory, start, queries = kv_setup()
    queries.requires_grad_(True)
    read = memory(graph, start, queries)
    read.answers[:, 5].sum().backward()
    assert memory.keys.weight.grad is not None and queries.grad is not None


def test_top_k_bounds_the_frontier():
    graph, _, start, queries = kv_setup()
    memory = GraphKVMemory(len(graph.relations), d_key=8, hops=3, top_k=4)
    read = memory(graph, start, queries)
    assert ((read.answers > 0).sum(1) <= 4).all()
    assert torch.allclose(read.answers.sum(1), torch.ones(len(start)), atol=1e-5)


def test_relation_transfer_matches_a_naive_loop_and_does_not_split_among_answers():
    """TransferNet's step: p'(o) = min(1, sum over kept slots (s, r, o) of p(s) *
    softmax_r(q . k_r)[r]), written out triple by triple; 30 answers of one relation each
    get the subject's full weight times that relation's probability."""
    graph, _, start, queries = kv_setup(seed=2)
    torch.manual_seed(0)
    memory = GraphKVMemory(len(graph.relations), d_key=8, hops=3, transfer="relation")
    read = memory(graph, start, queries)
    p = start.clone()
    for t in range(3):
        relation_p = (queries[:, t] @ memory.keys.weight.T).softmax(-1)  # (B, R)
        reached = torch.zeros_like(p)
        for s, r, o in graph.triples.tolist():
            reached[:, o] += p[:, s] * relation_p[:, r]
        p = reached.clamp(max=1.0)
        torch.testing.assert_close(read.hops[t].answers, p, atol=1e-6, rtol=1e-5)
    hub = TriplesGraph.from_labeled([("hub", "hyponym", f"kind{i}") for i in range(30)]
                                    + [("hub", "part", "wheel")])  # fmt: skip
    memory = GraphKVMemory(len(hub.relations), d_key=4, hops=1, transfer="relation")
    with torch.no_grad():
        memory.keys.weight.copy_(torch.eye(len(hub.relations), 4) * 3)
    query = torch.zeros(1, 1, 4)
    query[0, 0, hub.relations.index("hyponym")] = 1.0
    start = torch.zeros(1, len(hub.entities))
    start[0, hub.entities.index("hub")] = 1.0
    answers = memory(hub, start, query).answers[0]
    kinds = [hub.entities.index(f"kind{i}") for i in range(30)]
    assert torch.allclose(answers[kinds], answers[kinds[0]].expand(30))
    assert answers[kinds[0]] > 0.5 > answers[hub.entities.index("wheel")]  # not 1/30 each
    with pytest.raises(UserError, match="transfer must be one of softmax, relation"):
        GraphKVMemory(2, transfer="walk")


def test_auc_pr_hand_computed():
    # 2 queries x 3 candidates; flattened scores ranked: .9 (+), .8 (-), .7 (+), rest (-)
    scores = np.array([[0.9, 0.8, 0.1], [0.2, 0.7, 0.3]])
    targets = np.array([0, 1])
    # average precision = (1/2) * (P@1 + P@3) = (1/2) * (1 + 2/3)
    assert auc_pr(scores, targets) == pytest.approx(5 / 6)
    assert auc_pr(np.eye(3), np.arange(3)) == pytest.approx(1.0)
    with pytest.raises(UserError, match="scores must be"):
        auc_pr(np.zeros(3), np.zeros(3))


def test_readers(tmp_path):
    nl = tmp_path / "g.nl"
    nl.write_text("locatedIn(palau,micronesia).\n\n% a comment\nneighborOf(a, b).\n")
    assert read_nl_facts(nl) == [("palau", "locatedIn", "micronesia"), ("a", "neighborOf", "b")]
    tsv = tmp_path / "g.tsv"
    tsv.write_text("00260881\t_hypernym\t00260622\r\n\n1\tr\t2\n")
    assert read_tsv_triples(tsv) == [("00260881", "_hypernym", "00260622"), ("1", "r", "2")]
    names = tmp_path / "names.txt"
    names.write_text("asia\neurope\n")
    assert read_names(names) == ["asia", "europe"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "locatedIn(palau,oceania).\nlocatedIn(palau,oceania.\n",
            r"g\.nl:2: .*missing parenthesis",
        ),
        ("locatedIn palau oceania\n", r"g\.nl:1: .*missing parenthesis"),
        ("locatedIn(palau,oceania,earth).\n", r"g\.nl:1: locatedIn has 3 argument"),
        ("locatedIn(palau).\n", r"g\.nl:1: locatedIn has 1 argument"),
        ("", r"g\.nl: no facts"),
    ],
)
def test_nl_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "g.nl"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        read_nl_facts(path)


def test_tsv_and_encoding_errors(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("a\tr\tb\na\tr\n")
    with pytest.raises(UserError, match=r"g\.tsv:2: expected 3 tab-separated columns"):
        read_tsv_triples(path)
    path.write_bytes(b"a\tr\tb\n\xff\xfe\tr\tb\n")
    with pytest.raises(UserError, match=r"g\.tsv(:\d+)?: not UTF-8"):
        read_tsv_triples(path)
    path.write_bytes(b"")
    with pytest.raises(UserError, match=r"g\.tsv: no triples"):
        read_tsv_triples(path)
