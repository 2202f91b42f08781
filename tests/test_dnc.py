"""DNC: allocation, temporal links, content addressing, padding steps, stability, learning."""

from __future__ import annotations

import torch

import amkit
from amkit.data.base import DataInfo
from amkit.memory.dnc import (
    DNC,
    LayerNormLSTMCell,
    allocation_weights,
    content_weights,
    interface_size,
    memory_step,
    split_interface,
    update_links,
    update_usage,
)


def test_allocation_prefers_the_least_used_slot_and_matches_the_free_list_formula():
    usage = torch.tensor([[0.9, 0.1, 0.5, 1.0]])
    a = allocation_weights(usage)[0]
    assert int(a.argmax()) == 1
    # free list phi = [1, 2, 0, 3]: a[phi_j] = (1 - u[phi_j]) * prod_{i<j} u[phi_i]
    expected = torch.tensor([(1 - 0.9) * 0.1 * 0.5, 1 - 0.1, (1 - 0.5) * 0.1, 0.0])
    torch.testing.assert_close(a, expected, atol=1e-5, rtol=1e-4)
    assert float(a.sum()) <= 1
    assert int(allocation_weights(torch.zeros(1, 4))[0].argmax()) == 0  # all free: first slot


def test_usage_grows_with_writes_and_frees_what_was_read_with_a_free_gate():
    usage = torch.tensor([[0.0, 0.5, 0.8]])
    write = torch.tensor([[1.0, 0.0, 0.0]])
    read = torch.tensor([[[0.0, 0.0, 1.0]]])  # one head read slot 2
    new = update_usage(usage, write, read, free_gates=torch.tensor([[1.0]]))
    torch.testing.assert_close(new, torch.tensor([[1.0, 0.5, 0.0]]))
    kept = update_usage(usage, write, read, free_gates=torch.tensor([[0.0]]))
    torch.testing.assert_close(kept, torch.tensor([[1.0, 0.5, 0.8]]))


def test_temporal_links_recover_the_write_order():
    n = 5
    link, precedence = torch.zeros(1, n, n), torch.zeros(1, n)
    order = [2, 0, 3]
    for slot in order:
        link, precedence = update_links(link, precedence, torch.eye(n)[slot][None])
    assert torch.all(link.diagonal(dim1=1, dim2=2) == 0)
    for before, after in zip(order, order[1:], strict=False):
        at = torch.eye(n)[before][None, None]  # a read head on `before`, (1, 1, N)
        forward = at @ link.mT  # L w
        assert int(forward.argmax()) == after and float(forward.max()) == 1.0
        back = torch.eye(n)[after][None, None] @ link  # L^T w
        assert int(back.argmax()) == before
    torch.testing.assert_close(precedence, torch.eye(n)[3][None])


def test_content_weights_are_a_softmax_of_scaled_cosine_similarity():
    g = torch.Generator().manual_seed(0)
    memory, keys, beta = (
        torch.randn(2, 4, 3, generator=g),
        torch.randn(2, 2, 3, generator=g),
        torch.tensor([[1.0, 5.0], [2.0, 1.5]]),
    )
    got = content_weights(memory, keys, beta)
    for b in range(2):
        for r in range(2):
            cos = torch.stack(
                [torch.cosine_similarity(keys[b, r], memory[b, i], dim=0) for i in range(4)]
            )
            torch.testing.assert_close(got[b, r], torch.softmax(beta[b, r] * cos, 0))


def test_ten_thousand_random_steps_stay_finite_and_sub_normalised():
    torch.manual_seed(0)
    n, w, r = 8, 4, 2
    dnc = DNC(3, 3, hidden_size=8, memory_slots=n, word_size=w, read_heads=r)
    state = dnc.initial_state(2)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for step in range(10_000):
            scale = 10.0 if step % 2 else 0.1  # alternate wild and tame interface vectors
            io = split_interface(torch.randn(2, interface_size(w, r), generator=g) * scale, w, r)
            state = memory_step(state, io)
            if step % 500 == 0 or step == 9_999:
                for name in ("memory", "usage", "link", "read_weights", "write_weights"):
                    assert torch.isfinite(getattr(state, name)).all(), (step, name)
                assert (state.write_weights >= 0).all() and float(
                    state.write_weights.sum(-1).max()
                ) <= 1 + 1e-5
                assert (state.read_weights >= 0).all() and float(
                    state.read_weights.sum(-1).max()
                ) <= 1 + 1e-5
                assert (state.usage >= 0).all() and (state.usage <= 1 + 1e-6).all()
                assert float(state.link.sum(-1).max()) <= 1 + 1e-5
    out, _, _ = dnc(torch.randn(2, 50, 3) * 100)
    assert torch.isfinite(out).all()


def test_masked_steps_leave_the_state_alone_and_gradients_reach_every_parameter():
    torch.manual_seed(0)
    dnc = DNC(3, 2, hidden_size=6, memory_slots=5, word_size=4, read_heads=2)
    x = torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    out, state, weights = dnc(x, mask, need_weights=True)
    _, short_state, _ = dnc(x[1:, :2])
    torch.testing.assert_close(state.memory[1], short_state.memory[0])
    torch.testing.assert_close(state.hidden[1], short_state.hidden[0])
    assert torch.all(out[1, 2:] == 0)
    assert weights["write"].shape == (2, 4, 5) and weights["read"].shape == (2, 4, 2, 5)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in dnc.parameters())


def test_layer_norm_lstm_cell_matches_its_formula():
    torch.manual_seed(0)
    cell = LayerNormLSTMCell(3, 5)
    with torch.no_grad():
        for norm in [*cell.gate_norms, cell.cell_norm]:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    x, h, c = torch.randn(2, 3), torch.randn(2, 5), torch.randn(2, 5)

    def layer_norm(v, norm):
        centred = v - v.mean(-1, keepdim=True)
        scaled = centred / torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + norm.eps)
        return scaled * norm.weight + norm.bias

    pre = torch.cat([x, h], -1) @ cell.gates.weight.T + cell.gates.bias
    i, f, g, o = (layer_norm(pre[:, k * 5 : (k + 1) * 5], cell.gate_norms[k]) for k in range(4))
    c_expected = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_expected = torch.sigmoid(o) * torch.tanh(layer_norm(c_expected, cell.cell_norm))
    h_new, c_new = cell(x, (h, c))
    torch.testing.assert_close(c_new, c_expected)
    torch.testing.assert_close(h_new, h_expected)


def test_without_links_heads_read_by_content_and_no_link_state_is_kept():
    torch.manual_seed(0)
    n, w, r = 6, 4, 2
    state = DNC(3, 3, hidden_size=8, memory_slots=n, word_size=w, read_heads=r, links=False)
    state = state.initial_state(2)
    assert state.link.shape == (2, 0, 0)
    for _ in range(5):
        io = split_interface(torch.randn(2, interface_size(w, r)), w, r)
        state = memory_step(state, io, links=False)
        expected = content_weights(state.memory, io.read_keys, io.read_strengths)
        torch.testing.assert_close(state.read_weights, expected)
        torch.testing.assert_close(state.reads, expected @ state.memory)
    assert state.link.shape == (2, 0, 0) and not state.precedence.any()


def test_robust_dnc_options_interface_norm_is_scale_free_and_bypass_dropout_trains_only():
    torch.manual_seed(0)
    options = {"hidden_size": 8, "memory_slots": 5, "word_size": 4, "read_heads": 2}
    robust = DNC(3, 2, controller_norm=True, interface_norm=True, bypass_dropout=0.5, **options)
    x = torch.randn(2, 6, 3)
    robust.eval()
    before, _, _ = robust(x)
    with torch.no_grad():  # layer norm after the interface layer: its scale does not matter
        robust.interface.weight.mul_(100)
        robust.interface.bias.mul_(100)
    after, _, _ = robust(x)
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)
    # evaluation: no dropout, the same outputs as the same weights without bypass dropout
    plain = DNC(3, 2, controller_norm=True, interface_norm=True, **options)
    plain.load_state_dict(robust.state_dict())
    torch.testing.assert_close(plain.eval()(x)[0], after)
    robust.train()
    torch.manual_seed(1)
    first, _, _ = robust(x)
    torch.manual_seed(2)
    second, _, _ = robust(x)
    assert not torch.allclose(first, second)  # training: the bypass is dropped at random
    (first.sum() + second.sum()).backward()
    assert all(p.grad is not None for p in robust.parameters())


def test_word_steps_put_the_story_then_the_question_with_markers():
    from amkit.models.qa import DNCQA, DNCConfig

    info = DataInfo(
        task="story_qa", vocab_size=10, sentence_len=3, query_len=2, memory_size=3, n_classes=10
    )
    model = DNCQA(DNCConfig(hidden_size=4, memory_slots=3, word_size=2, read_heads=1), info)
    story = torch.tensor([[[1, 2, 0], [3, 0, 0], [0, 0, 0]]])
    tokens, mask = model.word_steps(story, torch.tensor([[4, 5]]))
    assert tokens.tolist() == [[1, 2, 10, 3, 10, 4, 5, 11]] and mask.all()


def test_learns_two_supporting_facts_and_explains_what_the_answer_read(tmp_path, capsys):
    """Well above the majority answer in under a minute. The DNC learns slowest of the bAbI
    models here (about 0.47 after 4 epochs at lr 0.005, where EntNet and UT pass 0.9): the
    paper trained it for days."""
    config = {
        "data": {"name": "babi_generated", "tasks": [2], "n_train": 3000, "n_test": 300},
        "model": {"name": "dnc", "d_model": 32, "hidden_size": 64, "memory_slots": 16,
                  "word_size": 16, "read_heads": 2, "step": "sentence"},
        "train": {"epochs": 4, "optimizer": "adam", "lr": 0.005, "progress": False},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "run")
    targets = result.data.split("test").tensors["targets"]
    majority = float(targets.bincount().max()) / len(targets)  # about 0.2
    assert result.metrics["test"]["accuracy"] > 2 * majority, result.history
    # amkit explain traces the answer's reads back to the sentences that wrote them
    from amkit.cli import main

    assert main(["explain", str(result.run_dir), "--task", "2", "--example", "1"]) == 0
    text = capsys.readouterr().out
    assert "read1" in text and "read2" in text and "write" in text and "predicted:" in text
    # a word-step DNC: each sentence's rows sum its words' and its end marker's steps
    from amkit.explain.memory import explain_story, story_weights
    from amkit.models.qa import DNCQA, DNCConfig

    torch.manual_seed(0)
    words = DNCQA(DNCConfig(d_model=8, hidden_size=8, memory_slots=4, word_size=4,
                            read_heads=1, step="word"), result.data.info)  # fmt: skip
    explained = explain_story(words, result.data, task=2, example=0, out_png=tmp_path / "w.png")
    assert "read1" in explained.text and explained.png.is_file()
    batch = result.data.split("test")[0:1]
    out = words(batch["story"], batch["query"], need_weights=True)
    real = batch["story"][0][(batch["story"][0] != 0).any(-1)]
    steps = [int((row != 0).sum()) + 1 for row in real]
    table, _ = story_weights(out, len(steps), steps)
    write_mass = out.write[0].sum(-1)  # (T,)
    torch.testing.assert_close(table[:, -1].sum(), write_mass[: sum(steps)].sum())
    torch.testing.assert_close(table[0, -1], write_mass[: steps[0]].sum())


def test_read_trace_credits_each_slot_to_its_writers_as_a_loop_does():
    """Slot j's content goes to step t in proportion to w_t[j] prod_{s>t} (1 - w_s[j]); a
    head's trace is its last-step read weights times those shares."""
    from amkit.explain.memory import dnc_read_trace

    # hand-built: step 0 fills slot 0, step 1 fills slot 1, step 2 half-overwrites slot 0;
    # the last step's head 0 reads slot 0, head 1 reads slot 1
    write = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.0]])
    read = torch.zeros(3, 2, 2)
    read[-1] = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    torch.testing.assert_close(
        dnc_read_trace(write, read), torch.tensor([[0.5, 0.0], [0.0, 1.0], [0.5, 0.0]])
    )
    torch.manual_seed(0)
    write = torch.rand(6, 5) * 0.4
    read = torch.softmax(torch.randn(6, 3, 5), -1)
    expected = torch.zeros(6, 3)
    for t in range(6):
        for j in range(5):
            share = write[t, j] * torch.prod(1 - write[t + 1 :, j])
            expected[t] += read[-1, :, j] * share
    torch.testing.assert_close(dnc_read_trace(write, read), expected)
