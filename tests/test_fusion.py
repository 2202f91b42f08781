"""Fusion blocks: the issue's formulas, gate range, shapes, gradients, bad shapes."""

import pytest
import torch

from amkit.knowledge.fusion import ConcatFusion, GatedFusion


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
