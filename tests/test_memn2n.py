"""MemN2N: the paper's formulas, weight tying, linear start, attention, learning, save/load."""

from __future__ import annotations

import pytest
import torch

import amkit
from amkit.data.base import DataInfo
from amkit.memory.memn2n import MemN2N, position_encoding_weights
from amkit.models.qa import MemN2NConfig, MemN2NQA


def test_position_encoding_matches_the_paper_formula():
    lengths = torch.tensor([3, 5, 1])
    weights = position_encoding_weights(lengths, max_len=6, dim=4)  # (3, 6, 4)
    for s, big_j in enumerate(lengths.tolist()):
        for j in range(1, 7):
            for k in range(1, 5):
                expected = (1 - j / big_j) - (k / 4) * (1 - 2 * j / big_j) if j <= big_j else 0.0
                assert weights[s, j - 1, k - 1].item() == pytest.approx(expected, abs=1e-6)


def authors_code_weights(length: int, dim: int, temporal: bool) -> torch.Tensor:
    """(L, d) PE of the authors' code: 1 + 4 (k - (d+1)/2)(j - (J+1)/2) / (d J), J fixed."""
    big_j = length + int(temporal)
    w = torch.ones(length, dim)
    for j in range(1, length + 1):
        for k in range(1, dim + 1):
            w[j - 1, k - 1] = 1 + 4 * (k - (dim + 1) / 2) * (j - (big_j + 1) / 2) / (dim * big_j)
    return w


@pytest.mark.parametrize("encoding", ["pe", "pe_code", "bow"])
def test_sentence_encoding_equals_the_weighted_word_sum(encoding):
    net = MemN2N(20, 6, dim=8, hops=1, encoding=encoding)
    story, _ = _batch()
    story = story.long()
    words = net.word_embeddings[0](story)  # (B, M, L, d)
    if encoding == "pe":
        words = words * position_encoding_weights((story != 0).sum(-1), story.shape[-1], 8)
    if encoding == "pe_code":
        words = words * authors_code_weights(story.shape[-1], 8, temporal=True)
    torch.testing.assert_close(net.encode(net.word_embeddings[0], story), words.sum(-2))


def _batch(b=4, m=6, length=5, vocab=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    story = torch.randint(1, vocab, (b, m, length), generator=g)
    story[:, :, 3:] = 0  # sentences of 3 words
    story[0, 4:] = 0  # first story has only 4 sentences
    query = torch.randint(1, vocab, (b, 4), generator=g)
    return story, query


@pytest.mark.parametrize("tying", ["adjacent", "layerwise", "none"])
def test_hop_attention_is_a_distribution_over_real_memories(tying):
    net = MemN2N(20, 6, dim=8, hops=3, tying=tying).eval()
    story, query = _batch()
    u, weights = net(story, query, need_weights=True)
    assert u.shape == (4, 8) and weights.shape == (4, 3, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 3))
    assert torch.all(weights[0, :, 4:] == 0)  # padding slots get exactly 0


def test_empty_slots_take_softmax_mass_as_zero_vectors():
    net = MemN2N(20, 6, dim=8, hops=1, empty_slots=True).eval()
    story, query = _batch()
    u, weights = net(story, query, need_weights=True)
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 1))
    assert (weights[0, 0, 4:] > 0).all()  # the two empty slots of story 0 share the mass
    # ... with score 0 (zero vectors): equal weights, and nothing added to the output
    torch.testing.assert_close(weights[0, 0, 4], weights[0, 0, 5])
    masked = MemN2N(20, 6, dim=8, hops=1).eval()
    masked.load_state_dict(net.state_dict())
    _, masked_weights = masked(story, query, need_weights=True)
    assert torch.all(masked_weights[0, 0, 4:] == 0)


def test_linear_start_drops_the_softmax():
    net = MemN2N(20, 6, dim=8, hops=1, temporal=False).eval()
    story, query = _batch()
    _, linear = net(story, query, linear=True, need_weights=True)
    m = net.encode(net.word_embeddings[0], story.long())
    u = net.encode(net.word_embeddings[0], query.long())
    expected = torch.einsum("bmd,bd->bm", m, u).masked_fill((story == 0).all(-1), 0.0)
    torch.testing.assert_close(linear[:, 0], expected)


def test_adjacent_tying_shares_the_right_matrices():
    net = MemN2N(20, 6, dim=8, hops=3, tying="adjacent")
    assert len(net.word_embeddings) == 4 and len(net.time_embeddings) == 4
    assert net.question_embedding is net.word_embeddings[0]  # B = A^1
    assert net._input_index(1) == (1, 2)  # A^2 = C^1 = E_1
    assert net.answer_weight is net.word_embeddings[3].weight  # W^T = C^K
    assert not hasattr(net, "hop_map")


def test_adjacent_tying_can_untie_the_question_or_the_answer():
    """``tie_question=False`` gives ``B`` and ``tie_answer=False`` gives ``W`` a matrix of
    its own (the task-16 ablation); the logits then read the answer's own matrix."""
    net = MemN2N(20, 6, dim=8, hops=3, tying="adjacent", tie_answer=False, tie_question=False)
    assert net.question_embedding is net.untied["question"]
    assert net.question_embedding is not net.word_embeddings[0]
    assert net.answer_weight is net.untied["answer"].weight
    assert net.answer_weight is not net.word_embeddings[3].weight
    config = MemN2NConfig(d_model=8, hops=2, tie_answer=False, linear_start=False)
    model = MemN2NQA(
        config, DataInfo(task="story_qa", vocab_size=20, memory_size=6, n_classes=20)
    ).eval()
    story, query = _batch()
    before = model(story, query).logits
    with torch.no_grad():
        model.memory.untied["answer"].weight[5] += 1.0
    after = model(story, query).logits
    changed = (after - before).abs() > 1e-6
    assert changed[:, 5].all() and not changed[:, [4, 6]].any()  # only word 5's logits moved
    with pytest.raises(ValueError, match="apply to adjacent tying"):
        MemN2N(20, 6, tying="layerwise", tie_answer=False)
    assert MemN2NConfig(tying="none", tie_question=False).validate()


def test_layerwise_tying_shares_across_hops_and_adds_h():
    net = MemN2N(20, 6, dim=8, hops=3, tying="layerwise")
    assert {net._input_index(h) for h in range(3)} == {(0, 1)}
    assert net.hop_map.weight.shape == (8, 8)
    params = dict(net.named_parameters())
    assert "hop_map.weight" in params and len(net.word_embeddings) == 4


def test_untied_has_separate_matrices_per_hop():
    net = MemN2N(20, 6, dim=8, hops=3, tying="none")
    assert len({net._input_index(h) for h in range(3)}) == 3
    assert len(net.time_embeddings) == 6


def test_temporal_encoding_ages_and_random_noise():
    net = MemN2N(20, 6, dim=8, hops=1)
    mask = torch.tensor([[True, True, True, False, False, False]])
    net.eval()
    assert net.memory_ages(mask).tolist() == [[2, 1, 0, 0, 0, 0]]
    net.train()
    net.random_noise = 0.5
    torch.manual_seed(0)
    ages = torch.stack([net.memory_ages(mask)[0, :3] for _ in range(200)])
    assert (ages[:, 0] >= 2).all() and (ages[:, 0] > 2).any()  # blanks only push ages up
    assert (ages[:, 0] > ages[:, 1]).all() and (ages[:, 1] > ages[:, 2]).all()


def test_code_style_random_noise_keeps_order_and_adds_few_blanks():
    net = MemN2N(20, 50, dim=8, hops=1, rn_mode="code").train()
    mask = torch.zeros(300, 50, dtype=torch.bool)
    lengths = torch.randint(1, 51, (300,), generator=torch.Generator().manual_seed(0))
    for i, n in enumerate(lengths.tolist()):
        mask[i, :n] = True
    torch.manual_seed(0)
    ages = net.memory_ages(mask)
    for i, n in enumerate(lengths.tolist()):
        row = ages[i, :n]
        uncapped = row < 49  # ages past the last temporal row are capped at 49, as in the code
        assert (row[:-1] >= row[1:]).all()  # oldest first
        assert (row[:-1][uncapped[:-1]] > row[1:][uncapped[:-1]]).all()  # strictly, uncapped
        if uncapped.all():
            blanks = int(row[0]) + 1 - n  # ages used beyond the n sentences
            assert 0 <= blanks < max(1, -(-n // 10))  # fewer than ceil(0.1 n)
    eval_ages = net.eval().memory_ages(mask)
    assert eval_ages[0, : lengths[0]].tolist() == list(range(int(lengths[0]) - 1, -1, -1))


def test_padding_embedding_stays_zero_and_gets_no_gradient():
    model = MemN2NQA(
        MemN2NConfig(d_model=8),
        DataInfo(task="story_qa", vocab_size=20, memory_size=6, n_classes=20),
    )
    story, query = _batch()
    out = model(story, query, targets=torch.tensor([1, 2, 3, 4]))
    out.loss.backward()
    for emb in model.memory.word_embeddings:
        assert torch.all(emb.weight[0] == 0)
        assert torch.all(emb.weight.grad[0] == 0)


def test_linear_start_switches_softmax_back_on():
    info = DataInfo(task="story_qa", vocab_size=20, memory_size=6, n_classes=20)
    model = MemN2NQA(MemN2NConfig(d_model=8, ls_max_epochs=10, ls_patience=2), info)
    assert bool(model.linear_phase)
    hold = {"hold_schedule": True}
    assert model.epoch_end(1, {"val_loss": 2.0}) == hold
    assert model.epoch_end(2, {"val_loss": 1.5}) == hold
    assert model.epoch_end(3, {"val_loss": 1.6}) == hold  # one bad epoch: patience 2
    assert bool(model.linear_phase)
    record = {"val_loss": 1.55}  # second epoch without beating 1.5
    assert model.epoch_end(4, record) == {"restart_schedule": True}
    assert not bool(model.linear_phase) and record["linear_start_ended"]
    assert model.epoch_end(5, {"val_loss": 9.0}) is None  # stays off
    capped = MemN2NQA(MemN2NConfig(d_model=8, ls_max_epochs=2), info)
    capped.epoch_end(1, {"val_loss": 2.0})
    capped.epoch_end(2, {"val_loss": 1.0})
    assert not bool(capped.linear_phase)


def test_trainer_restarts_the_schedule_when_linear_start_ends(tmp_path):
    config = {
        **GENERATED,
        "model": {**GENERATED["model"], "linear_start": True, "ls_max_epochs": 2},
        "train": {
            "epochs": 4,
            "optimizer": "sgd",
            "lr": 0.1,
            "scheduler": "step",
            "step_size": 1,
            "gamma": 0.5,
            "progress": False,
        },
    }
    config["data"] = {**GENERATED["data"], "n_train": 100, "n_test": 20}
    result = amkit.run(config, run_dir=tmp_path / "run")
    lrs = [round(h["lr"], 6) for h in result.history]
    assert lrs == [0.1, 0.1, 0.1, 0.05]  # held during LS, restarted when it ended at epoch 2
    assert result.history[1].get("linear_start_ended")


GENERATED = {
    "data": {"name": "babi_generated", "tasks": [1], "n_train": 1000, "n_test": 300},
    "model": {"name": "memn2n", "d_model": 20, "hops": 1, "linear_start": False},
    "train": {"epochs": 15, "optimizer": "adam", "lr": 0.01, "progress": False},
}


def test_learns_single_supporting_fact_stories(tmp_path):
    result = amkit.run(GENERATED, run_dir=tmp_path / "run")
    assert result.metrics["test"]["accuracy"] > 0.95, result.history
    # save -> load -> same answers
    _, model, data = amkit.load_run(result.run_dir)
    batch = data.split("test")[:64]
    result.model.eval()
    with torch.no_grad():
        a = result.model(batch["story"], batch["query"], need_weights=True)
        b = model(batch["story"], batch["query"], need_weights=True)
    assert torch.equal(a.logits, b.logits) and torch.equal(a.hops, b.hops)


def test_explain_prints_hops_beside_the_story(tmp_path, capsys):
    from amkit.cli import main

    config = {**GENERATED, "train": {**GENERATED["train"], "epochs": 2}}
    result = amkit.run(config, run_dir=tmp_path / "run")
    assert main(["explain", str(result.run_dir), "--task", "1", "--example", "3"]) == 0
    text = capsys.readouterr().out
    assert "task 1, test question 3" in text and "hop1" in text
    assert "(* = supporting fact)" in text and "\n*" in text  # a supporting fact is marked
    png = result.run_dir / "plots" / "explain_task1_test3.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["explain", str(result.run_dir), "--task", "9"]) == 2
    assert "task 9 is not in this run's test split" in capsys.readouterr().err


def _reference_forward(net: MemN2N, story: torch.Tensor, query: torch.Tensor):
    """The paper's equations written out naively: one sentence and one hop at a time."""
    story, query = story.long(), query.long()
    b, m, _ = story.shape
    ages = net.memory_ages((story != 0).any(-1))

    def sentence(emb, ids):
        words = [w for w in ids.tolist() if w != 0]
        if not words:
            return torch.zeros(net.dim)
        l = position_encoding_weights(torch.tensor(len(words)), len(words), net.dim)
        return (emb.weight[words] * l).sum(0)

    outputs, attentions = [], []
    for i in range(b):
        u = sentence(net.question_embedding, query[i])
        hops = []
        for hop in range(net.hops):
            a, c = net._input_index(hop)
            real = [j for j in range(m) if (story[i, j] != 0).any()]
            mem = torch.stack(
                [
                    sentence(net.word_embeddings[a], story[i, j])
                    + net.time_embeddings[a].weight[ages[i, j]]
                    for j in real
                ]
            )
            out = torch.stack(
                [
                    sentence(net.word_embeddings[c], story[i, j])
                    + net.time_embeddings[c].weight[ages[i, j]]
                    for j in real
                ]
            )
            p = torch.softmax(mem @ u, dim=0)
            u = (net.hop_map(u) if net.tying == "layerwise" else u) + p @ out
            hops.append(torch.cat([p, torch.zeros(m - len(real))]))
        outputs.append(u)
        attentions.append(torch.stack(hops))
    return torch.stack(outputs), torch.stack(attentions)


@pytest.mark.parametrize("tying", ["adjacent", "layerwise", "none"])
def test_forward_equals_the_papers_equations(tying):
    torch.manual_seed(0)
    net = MemN2N(20, 6, dim=8, hops=3, tying=tying).eval()
    story, query = _batch()
    u, weights = net(story, query, need_weights=True)
    ref_u, ref_weights = _reference_forward(net, story, query)
    torch.testing.assert_close(u, ref_u, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(weights, ref_weights, rtol=1e-4, atol=1e-5)


def reference_hops(net: MemN2N, story: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """The paper's equations written out on every slot, one hop at a time (eval mode)."""
    real = (story != 0).any(-1)  # (B, M)
    ages = real.long().flip(-1).cumsum(-1).flip(-1) - 1

    def sentence(matrix: int, ids: torch.Tensor) -> torch.Tensor:
        words = net.word_embeddings[matrix](ids)  # (..., L, d)
        weights = position_encoding_weights((ids != 0).sum(-1), ids.shape[-1], net.dim)
        return (words * weights).sum(-2)

    def memory(matrix: int) -> torch.Tensor:
        vectors = sentence(matrix, story) + net.time_embeddings[matrix](ages.clamp(min=0))
        return vectors * real.unsqueeze(-1)  # empty slots: zero vectors

    u = sentence(0, query)
    for hop in range(net.hops):
        a, c = net._input_index(hop)
        scores = torch.einsum("bmd,bd->bm", memory(a), u)
        if not net.empty_slots:
            scores = scores.masked_fill(~real, float("-inf"))
        p = scores.softmax(-1).nan_to_num()  # a story with no memory reads nothing
        u = u + torch.einsum("bm,bmd->bd", p, memory(c))
    return u


@pytest.mark.parametrize("empty_slots", [False, True])
def test_forward_equals_the_equations_on_every_slot(empty_slots):
    """The fast path (only real sentences encoded, one gather) changes no number."""
    net = MemN2N(20, 6, dim=8, hops=3, encoding="pe", empty_slots=empty_slots).eval()
    story, query = _batch()
    story[1] = 0  # a story with no sentence at all
    u, _ = net(story, query)
    torch.testing.assert_close(u, reference_hops(net, story.long(), query.long()))
