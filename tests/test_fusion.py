"""Fusion blocks: the issue's formulas, gate range, shapes, gradients, bad shapes."""

import pytest
import torch

from amkit.knowledge.fusion import ConcatFusion, GatedFusion, KnowledgeAttention


def test_gated_fusion_is_the_formula():
    torch.manual_seed(0)
    fusion = GatedFusion(6)
    h, k = torch.randn(2, 5, 6), torch.randn(2, 5, 6)
    out, g = fusion(h, k, need_weights=True)
    w, b = fusion.gate.weight, fusion.gate.bias
    expected_g = torch.sigmoid(torch.cat([h, k], -1) @ w.T + b)
    assert torch.allclose(g, expected_g, atol=1e-6)
    assert torch.allclose(out, expected_g * h + (1 - expected_g) * k, atol=1e-6)
    assert ((g > 0) & (g < 1)).all()
    assert fusion(h, k)[1] is None


def test_gate_extremes_pick_text_or_knowledge():
    fusion = GatedFusion(4)
    h, k = torch.randn(3, 4), torch.randn(3, 4)
    with torch.no_grad():
        fusion.gate.weight.zero_()
        fusion.gate.bias.fill_(50.0)
    assert torch.allclose(fusion(h, k)[0], h)
    with torch.no_grad():
        fusion.gate.bias.fill_(-50.0)
    assert torch.allclose(fusion(h, k)[0], k)


def test_concat_fusion_is_a_linear_map_of_both():
    torch.manual_seed(0)
    fusion = ConcatFusion(4, 3)
    h, k = torch.randn(2, 4), torch.randn(2, 3)
    out, weights = fusion(h, k)
    expected = torch.cat([h, k], -1) @ fusion.proj.weight.T + fusion.proj.bias
    assert weights is None and torch.allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("block", [ConcatFusion(8, 5), GatedFusion(8, 5)])
def test_widths_shapes_and_gradients_reach_every_parameter(block):
    h = torch.randn(2, 7, 8, requires_grad=True)
    k = torch.randn(2, 7, 5, requires_grad=True)
    out, _ = block(h, k)
    assert out.shape == (2, 7, 8)
    out.square().sum().backward()
    assert h.grad.abs().sum() > 0 and k.grad.abs().sum() > 0
    for name, parameter in block.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match=r"must agree on every dimension but the last"):
        block(torch.randn(2, 7, 8), torch.randn(2, 6, 5))


def test_knowledge_attention_equals_a_naive_loop_of_the_formula():
    torch.manual_seed(0)
    block = KnowledgeAttention(5, knowledge_dim=4)
    h, facts = torch.randn(2, 3, 5), torch.randn(2, 3, 4, 4)
    fact_mask = torch.rand(2, 3, 4) < 0.6
    fact_mask[1, 2] = False
    out, weights = block(h, facts, fact_mask, need_weights=True)
    w, ws, bs = block.query.weight, block.sentinel.weight, block.sentinel.bias
    for b in range(2):
        for t in range(3):
            sentinel = torch.tanh(ws @ h[b, t] + bs)
            real = [facts[b, t, e] for e in range(4) if fact_mask[b, t, e]]
            candidates = torch.stack(real + [sentinel])
            p = torch.softmax(candidates @ (w @ h[b, t]), 0)
            read = p @ candidates
            expected = h[b, t] + block.out.weight @ read + block.out.bias
            assert torch.allclose(out[b, t], expected, atol=1e-5)
            assert torch.allclose(weights[b, t, -1], p[-1], atol=1e-6)
    assert weights[1, 2, -1] == 1.0  # no fact: the sentinel takes everything
    assert torch.all(weights[..., :-1][~fact_mask] == 0)


def test_knowledge_attention_leaves_padded_tokens_alone_and_checks_shapes():
    block = KnowledgeAttention(5, knowledge_dim=4)
    h, facts = torch.randn(2, 3, 5), torch.randn(2, 3, 2, 4)
    out, _ = block(h, facts, torch.ones(2, 3, 2, dtype=torch.bool), torch.tensor([[1, 1, 0]] * 2))
    assert torch.equal(out[:, 2], h[:, 2])
    with pytest.raises(ValueError, match=r"facts \(2, 3, 2, 4\) must be \(B, T, E, Dk\)"):
        block(h, facts, torch.ones(2, 3, 3, dtype=torch.bool))
