"""Recurrent Entity Network: the paper's update equations, gates, padding, tied keys, learning."""

from __future__ import annotations

import copy

import pytest
import torch

import amkit
from amkit.memory.entnet import EntityNetwork


def _batch(b=3, m=5, length=4, vocab=15, seed=0):
    g = torch.Generator().manual_seed(seed)
    story = torch.randint(1, vocab, (b, m, length), generator=g)
    story[:, :, 3:] = 0  # sentences of 3 words
    story[0, 3:] = 0  # the first story has 3 sentences
    query = torch.randint(1, vocab, (b, 3), generator=g)
    return story, query


def _reference(net: EntityNetwork, story, query):
    """Henaff et al. 2017, section 2, one example and one slot at a time."""
    emb, f, fq = net.embedding.weight, net.story_encoder.mask, net.query_encoder.mask
    keys = net.keys()
    logits, all_gates = [], []
    for b in range(story.shape[0]):
        h = [keys[j].clone() for j in range(net.n_slots)]
        gates = torch.zeros(story.shape[1], net.n_slots)
        for t in range(story.shape[1]):
            ids = story[b, t]
            if (ids == 0).all():
                continue
            s = sum(f[i] * emb[ids[i]] for i in range(len(ids)))
            for j in range(net.n_slots):
                b_gate = 0.0 if net.gate_bias is None else net.gate_bias[j]
                b_u = 0.0 if net.U.bias is None else net.U.bias
                g = torch.sigmoid(s @ h[j] + s @ keys[j] + b_gate)
                pre = net.U.weight @ h[j] + b_u + net.V.weight @ keys[j] + net.W.weight @ s
                cand = torch.where(pre > 0, pre, net.phi.weight * pre)
                new = h[j] + g * cand
                h[j] = new / new.norm()
                gates[t, j] = g
        q = sum(fq[i] * emb[query[b, i]] for i in range(query.shape[1]))
        p = torch.softmax(torch.stack([q @ hj for hj in h]), 0)
        u = sum(p[j] * h[j] for j in range(net.n_slots))
        out = q + net.H.weight @ u
        logits.append(net.R.weight @ torch.where(out > 0, out, net.out_phi.weight * out))
        all_gates.append(gates)
    return torch.stack(logits), torch.stack(all_gates)


AUTHOR_CODE = {"prelu_init": 1.0, "prelu_per_channel": True, "biases": True}


@pytest.mark.parametrize("details", [{}, AUTHOR_CODE], ids=["paper", "author-code"])
def test_forward_equals_the_papers_equations(details):
    torch.manual_seed(0)
    net = EntityNetwork(15, sentence_len=4, query_len=3, dim=6, n_slots=4, **details).eval()
    with torch.no_grad():  # slopes away from their start, so each one's place is checked
        for phi in (net.phi, net.out_phi):
            phi.weight.uniform_(-0.5, 0.5)
    story, query = _batch()
    logits, weights = net(story, query, need_weights=True)
    ref_logits, ref_gates = _reference(net, story, query)
    torch.testing.assert_close(logits, ref_logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(weights["gates"], ref_gates, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(weights["slots"].sum(-1), torch.ones(3))


def test_author_code_details_start_as_the_identity_with_a_slope_per_feature():
    net = EntityNetwork(15, 4, 3, dim=6, n_slots=4, **AUTHOR_CODE)
    x = torch.randn(2, 4, 6)
    torch.testing.assert_close(net.phi(x), x)  # slopes start at 1
    with torch.no_grad():
        net.phi.weight.copy_(torch.arange(6.0))
    torch.testing.assert_close(net.phi(-torch.ones(2, 4, 6)), -torch.arange(6.0).expand(2, 4, 6))
    assert net.gate_bias.shape == (4,) and net.U.bias.shape == (6,)
    plain = EntityNetwork(15, 4, 3, dim=6, n_slots=4)
    assert plain.gate_bias is None and plain.U.bias is None and plain.phi.weight.shape == (1,)


def test_gates_in_unit_interval_and_padding_sentences_change_nothing():
    torch.manual_seed(1)
    net = EntityNetwork(15, 4, 3, dim=6, n_slots=4).eval()
    story, query = _batch()
    _, weights = net(story, query, need_weights=True)
    gates = weights["gates"]
    assert gates.shape == (3, 5, 4)
    assert (gates >= 0).all() and (gates <= 1).all()
    assert torch.all(gates[0, 3:] == 0)  # padding sentences open no gate
    keys = net.keys()
    h = keys.unsqueeze(0).expand(3, -1, -1)
    s = torch.randn(3, 6)
    h_new, _ = net.step(h, keys, s, real=torch.tensor([False, True, False]))
    assert torch.equal(h_new[0], h[0]) and torch.equal(h_new[2], h[2])
    assert not torch.allclose(h_new[1], h[1])


def test_slots_move_only_through_the_gate():
    """Before normalisation a slot changes by exactly ``g * candidate``, nothing else."""
    torch.manual_seed(2)
    net = EntityNetwork(15, 4, 3, dim=6, n_slots=4).eval()
    keys = net.keys()
    h = torch.nn.functional.normalize(torch.randn(2, 4, 6), dim=-1)
    s = torch.randn(2, 6)
    real = torch.ones(2, dtype=torch.bool)
    with torch.no_grad():
        h_new, gate = net.step(h, keys, s, real)
        candidate = net.phi(net.U(h) + net.V(keys) + net.W(s).unsqueeze(1))
        unnormalised = h + gate.unsqueeze(-1) * candidate
        torch.testing.assert_close(h_new * unnormalised.norm(dim=-1, keepdim=True), unnormalised)


def test_tied_keys_are_the_word_embeddings_and_learn_through_them():
    net = EntityNetwork(15, 4, 3, dim=6, n_slots=3, key_ids=[4, 7, 9])
    assert net.n_slots == 3 and net.free_keys is None
    torch.testing.assert_close(net.keys(), net.embedding.weight[[4, 7, 9]])
    story, query = _batch()
    logits, _ = net(story, query)
    logits.sum().backward()
    assert net.embedding.weight.grad[[4, 7, 9]].abs().sum() > 0


GENERATED_TASK2 = {
    "data": {"name": "babi_generated", "tasks": [2], "n_train": 3000, "n_test": 300},
    "train": {"epochs": 12, "optimizer": "adam", "lr": 0.005, "progress": False},
}


def test_learns_two_supporting_facts_and_explains_its_gates(tmp_path, capsys):
    from amkit.cli import main

    config = {**GENERATED_TASK2, "model": {"name": "entnet", "d_model": 32, "slots": 10}}
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert result.metrics["test"]["accuracy"] > 0.8, result.history  # chance: 1/6
    assert main(["explain", str(result.run_dir), "--task", "2", "--example", "0"]) == 0
    text = capsys.readouterr().out
    assert "slot1" in text and "question:" in text
    assert (result.run_dir / "plots" / "explain_task2_test0.png").exists()


def test_train_compile_compiles_the_step_and_other_models_say_they_cannot(tmp_path, monkeypatch):
    compiled = []

    def fake_compile(fn, **kwargs):  # records what would be compiled, runs it eagerly
        compiled.append(fn.__name__)
        return fn

    monkeypatch.setattr(torch, "compile", fake_compile)
    tiny = {
        "data": {"name": "babi_generated", "tasks": [1], "n_train": 60, "n_test": 20},
        "train": {"epochs": 1, "compile": True, "progress": False},
    }
    config = {**tiny, "model": {"name": "entnet", "d_model": 8, "slots": 2}}
    amkit.run(config, run_dir=tmp_path / "entnet")
    assert compiled == ["step"]
    with pytest.raises(ValueError, match="train.compile: MemN2NQA has no recurrent step"):
        amkit.run({**tiny, "model": {"name": "memn2n"}}, run_dir=tmp_path / "memn2n")


@pytest.mark.slow
def test_compiled_step_matches_eager_outputs_and_gradients():
    torch.manual_seed(0)
    eager = EntityNetwork(15, 4, 3, dim=8, n_slots=3)
    compiled = copy.deepcopy(eager)
    compiled.compile_step()
    for b, m in ((3, 5), (2, 3)):  # a second shape: the recompiled (dynamic) graph too
        story, query = _batch(b=b, m=m)
        outputs = []
        for net in (eager, compiled):
            net.zero_grad()
            logits, weights = net(story, query, need_weights=True)
            logits.square().sum().backward()
            outputs.append((logits, weights["gates"], net.U.weight.grad.clone()))
        for mine, theirs in zip(*outputs, strict=True):
            torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)
