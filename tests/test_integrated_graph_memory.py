"""The graph memory (an R-GCN over the neighbourhood of the entities a text names) as a
memory of the integrated model: the neighbourhood against a breadth-first search, one layer
against the R-GCN formula, rows that do not leak into each other, weights, save -> load,
errors and a short run."""

from __future__ import annotations

import pytest
import torch

import amkit
from amkit.config import ConfigError, from_dict
from amkit.graph import GraphMemory, TriplesGraph, neighbourhoods
from amkit.knowledge.base import KnowledgeBase
from amkit.models.integrated import IntegratedConfig, IntegratedModel
from amkit.train.checkpoint import load_model, save_model
from tests.test_integrated import QA_INFO, TEXT_INFO, VOCAB, _story

pytest.importorskip("torch_geometric")

FACTS = "kitchen\tpart_of\tdownstairs\ngarden\tpart_of\toutside\ndownstairs\tpart_of\thouse\n"


def _graph_model(tmp_path, info=QA_INFO, seed=0, **kwargs):
    path = tmp_path / "house.tsv"
    path.write_text(FACTS)
    torch.manual_seed(seed)
    config = IntegratedConfig(d_model=8, hops=2, memory="graph", graph_path=str(path), **kwargs)
    return IntegratedModel(config, info).eval()


@pytest.mark.parametrize("layers", [1, 2])
def test_each_rows_nodes_are_the_entities_within_layers_edges_of_its_words(tmp_path, layers):
    model = _graph_model(tmp_path, graph_layers=layers)
    kb = KnowledgeBase.from_file(tmp_path / "house.tsv")
    story, query = _story()
    out = model(story=story, query=query, need_weights=True)
    for b in range(2):
        words = {VOCAB[i] for i in story[b].flatten().tolist() + query[b].tolist() if i}
        seeds = {w for w in words if w in kb}
        reached = set(seeds).union(*(kb.neighbors(s, hops=layers, direction="both") for s in seeds))
        nodes = out.graph_nodes[b]
        assert {kb.entities[i] for i in nodes[nodes >= 0].tolist()} == reached
        assert torch.all(out.graph[b][:, nodes < 0] == 0)  # padding nodes get no weight
    assert out.graph.shape == (2, 2, out.graph_nodes.shape[1])
    torch.testing.assert_close(out.memory.sum(-1) + out.graph.sum(-1), torch.ones(2, 2))


def test_one_layer_is_the_rgcn_formula():
    """``h_i = x_i W_0 + b + sum_r mean_{j -r-> i} x_j W_r`` over the graph with reciprocal
    edges (Schlichtkrull et al., eq. 2, normalised by the neighbours per relation)."""
    graph = TriplesGraph.from_labeled([("a", "r", "b"), ("c", "r", "b"), ("b", "s", "d")])
    torch.manual_seed(0)
    memory = GraphMemory(graph, dim=4, layers=1).eval()
    states, ids, mask = memory(torch.tensor([[1, -1]]))  # b's neighbourhood: all four
    assert ids.tolist() == [[0, 1, 2, 3]] and mask.all()
    conv, x = memory.convs[0], memory.entities.weight  # (E, D)
    full = memory.graph.triples.tolist()  # with the reciprocal edges
    for i in range(4):
        expected = x[i] @ conv.root + conv.bias
        for r in range(len(memory.graph.relations)):
            sources = [s for s, rel, o in full if rel == r and o == i]
            if sources:
                expected = expected + torch.stack([x[s] @ conv.weight[r] for s in sources]).mean(0)
        torch.testing.assert_close(states[0, i], expected)


def test_rows_are_read_alone_and_a_row_without_entities_reads_no_node(tmp_path):
    model = _graph_model(tmp_path)
    seeds = model.word_entity[torch.tensor([[7, 8, 0], [7, 0, 0], [2, 3, 0]])]  # no entity: row 2
    states, ids, mask = model.graph_memory(seeds)
    for b in range(2):
        alone, alone_ids, _ = model.graph_memory(seeds[b : b + 1])
        n = alone.shape[1]
        torch.testing.assert_close(states[b, :n], alone[0])
        assert ids[b, :n].tolist() == alone_ids[0].tolist()
    assert not mask[2].any() and torch.all(ids[2] == -1)
    tokens = torch.tensor([[2, 4, 5, 3, 0]])  # mary went to john: no entity at all
    out = _graph_model(tmp_path, TEXT_INFO)(tokens=tokens, need_weights=True)
    assert out.graph.shape == (1, 2, 1) and torch.all(out.graph == 0)
    torch.testing.assert_close(out.memory.sum(-1), torch.ones(1, 2))


def test_neighbourhoods_leave_out_the_hidden_triples():
    """A row reaches the nodes with a path to a seed; with the reciprocal edges, any path;
    a hidden triple (and its reciprocal) is not an edge for that row."""
    graph = TriplesGraph.from_labeled([("a", "r", "b"), ("b", "r", "c")])
    assert neighbourhoods(graph, [torch.tensor([0])], layers=2).nodes.tolist() == [0]
    both = graph.with_inverses()  # triples 2, 3 are the reciprocals of 0, 1
    seeds = [torch.tensor([0]), torch.tensor([0])]
    hidden = torch.tensor([[False, True, False, True], [False] * 4])
    hood = neighbourhoods(both, seeds, layers=2, hidden=hidden)
    assert hood.rows.tolist() == [0, 0, 1, 1, 1]
    assert hood.nodes.tolist() == [0, 1, 0, 1, 2] and hood.types[:2].tolist() == [0, 1]
    assert [s.tolist() for s in hood.seeds] == [[0], [2]]


@pytest.mark.parametrize("fusion", ["add", "gate"])
def test_graph_memory_learns_and_saves_then_loads(tmp_path, fusion):
    model = _graph_model(tmp_path, memory_fusion=fusion).train()
    story, query = _story()
    out = model(story=story, query=query, targets=torch.tensor([13, 14]))
    out.loss.backward()
    assert all(p.grad is not None for p in model.graph_memory.parameters())
    model.eval()
    save_model(model, tmp_path / "model.safetensors")
    other = _graph_model(tmp_path, seed=1, memory_fusion=fusion)
    load_model(other, tmp_path / "model.safetensors")
    torch.testing.assert_close(
        other(story=story, query=query).logits, model(story=story, query=query).logits
    )
    assert model(tokens=None, story=story, query=query).attention == {}


def test_graph_memory_needs_a_graph_path():
    with pytest.raises(ConfigError, match="memory: graph needs graph_path"):
        from_dict(IntegratedConfig, {"memory": "graph"})


def test_a_short_run_reads_the_house_graph_and_loads_back(tmp_path):
    from amkit.data.house import write_house_kb

    kb = write_house_kb(tmp_path / "kb.tsv")
    config = {
        "seed": 0,
        "data": {"name": "house_stories", "n_train": 60, "n_test": 20, "memory_size": 6},
        "model": {"name": "integrated", "d_model": 8, "hops": 2, "memory": "graph",
                  "graph_path": str(kb), "graph_layers": 1},
        "train": {"epochs": 1, "batch_size": 32, "progress": False},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "run")
    reloaded = amkit.evaluate_run(tmp_path / "run")
    assert reloaded["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])


def test_explain_story_shows_the_graph_nodes_and_the_gates_each_hop_read(tmp_path):
    from amkit.data.house import HouseStoriesConfig, build_house_stories, write_house_kb
    from amkit.explain.memory import explain_story

    data = build_house_stories(HouseStoriesConfig(n_train=20, n_test=10, memory_size=6), 0)
    kb = write_house_kb(tmp_path / "kb.tsv")
    config = IntegratedConfig(d_model=8, hops=2, memory="graph", graph_path=str(kb),
                              graph_layers=1, memory_fusion="gate")  # fmt: skip
    model = IntegratedModel(config, data.info).eval()
    text = explain_story(model, data, task=1, example=0, out_png=tmp_path / "e.png").text
    assert "graph memory" in text and "hop2:" in text
    assert any(floor in text for floor in ("downstairs 0.", "upstairs 0."))  # a floor node
    assert "memory gate per hop" in text
