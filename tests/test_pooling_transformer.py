"""AttentionPooling and the pre-norm TransformerEncoder.

Legend: B batch, T time steps, D width, H heads, L layers.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from amkit.attention import AttentionPooling, TransformerEncoder, causal_mask, padding_mask

B, T, D, H, L = 3, 5, 8, 2, 2


# --------------------------------------------------------------------------- pooling
def _pooling_inputs(seed: int = 0):
    torch.manual_seed(seed)
    pool = AttentionPooling(D, hidden_dim=6)
    inputs = torch.randn(B, T, D, generator=torch.Generator().manual_seed(seed))
    return pool, inputs, padding_mask([5, 2, 3])


def test_pooling_weights_sum_to_one_padded_zero_and_pooled_is_the_weighted_sum():
    pool, inputs, mask = _pooling_inputs()
    pooled, weights = pool(inputs, mask, need_weights=True)
    assert pooled.shape == (B, D)
    assert weights.shape == (B, T)
    assert torch.all(weights[~mask] == 0.0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B))
    expected = torch.stack([sum(weights[b, t] * inputs[b, t] for t in range(T)) for b in range(B)])
    torch.testing.assert_close(pooled, expected)


def test_pooling_matches_the_han_formula():
    pool, inputs, mask = _pooling_inputs(1)
    _, weights = pool(inputs, mask, need_weights=True)
    w, b, v = pool.proj.weight, pool.proj.bias, pool.context.weight[0]
    with torch.no_grad():
        for i, length in enumerate([5, 2, 3]):
            e = torch.stack([v @ torch.tanh(w @ inputs[i, t] + b) for t in range(length)])
            expected = torch.cat([e.softmax(0), torch.zeros(T - length)])
            torch.testing.assert_close(weights[i], expected)


def test_pooling_without_mask_uses_every_step():
    pool, inputs, _ = _pooling_inputs(2)
    pooled, weights = pool(inputs, need_weights=True)
    assert torch.all(weights > 0)
    torch.testing.assert_close(pooled, (weights.unsqueeze(-1) * inputs).sum(1))


def test_pooling_all_padded_sequence_pools_to_zeros_without_nan():
    pool, inputs, _ = _pooling_inputs(3)
    inputs.requires_grad_(True)
    mask = padding_mask([4, 0, 5], max_len=T)
    pooled, weights = pool(inputs, mask, need_weights=True)
    assert torch.all(pooled[1] == 0.0)
    assert torch.all(weights[1] == 0.0)
    pooled.pow(2).sum().backward()
    assert torch.isfinite(inputs.grad).all()
    assert torch.all(inputs.grad[1] == 0.0)
    for name, param in pool.named_parameters():
        assert torch.isfinite(param.grad).all(), name


def test_pooling_weights_none_unless_asked():
    pool, inputs, mask = _pooling_inputs()
    pooled, weights = pool(inputs, mask)
    assert weights is None
    torch.testing.assert_close(pooled, pool(inputs, mask, need_weights=True)[0])


def test_pooling_rejects_bad_inputs():
    pool, inputs, mask = _pooling_inputs()
    with pytest.raises(ValueError, match=r"\(3, 8\)"):
        pool(inputs[:, 0])
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        pool(inputs, mask[:, :4])
    with pytest.raises(TypeError, match="bool"):
        pool(inputs, mask.float())


# --------------------------------------------------------------------------- encoder
def _encoder(seed: int = 0, dropout: float = 0.1) -> TransformerEncoder:
    torch.manual_seed(seed)
    return TransformerEncoder(D, H, n_layers=L, d_ff=16, dropout=dropout)


def _x(seed: int = 0) -> torch.Tensor:
    return torch.randn(B, T, D, generator=torch.Generator().manual_seed(seed))


def test_encoder_returns_one_weight_tensor_per_layer_only_when_asked():
    enc = _encoder().eval()
    out, weights = enc(_x())
    assert out.shape == (B, T, D)
    assert weights is None
    out_w, weights = enc(_x(), need_weights=True)
    assert isinstance(weights, list)
    assert len(weights) == L
    for w in weights:
        assert w.shape == (B, H, T, T)
        torch.testing.assert_close(w.sum(-1), torch.ones(B, H, T))
    assert not torch.equal(weights[0], weights[1])  # one per layer, not one repeated


ENCODER_MASKS = {
    "none": {},
    "key_padding": {"valid_keys": padding_mask([5, 2, 3])},
    "causal": {"is_causal": True},
    "mask_2d": {"mask": torch.rand(T, T, generator=torch.Generator().manual_seed(9)) < 0.5},
    "causal_and_padding": {"is_causal": True, "valid_keys": padding_mask([5, 2, 3])},
    "fully_padded_sequence": {"valid_keys": padding_mask([5, 0, 3], max_len=T)},
}


@pytest.mark.parametrize("name", list(ENCODER_MASKS))
def test_encoder_fast_path_equals_explicit_path_in_eval(name):
    enc = _encoder().eval()
    kwargs = ENCODER_MASKS[name]
    with torch.no_grad():
        fast, _ = enc(_x(), **kwargs)
        explicit, weights = enc(_x(), **kwargs, need_weights=True)
    assert weights is not None
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast, explicit)


def test_encoder_padding_keys_get_zero_attention_in_every_layer_and_head():
    enc = _encoder().eval()
    kpm = padding_mask([5, 2, 3])
    _, weights = enc(_x(), valid_keys=kpm, need_weights=True)
    padded = ~kpm[:, None, None, :].expand(B, H, T, T)
    for w in weights:
        assert torch.all(w[padded] == 0.0)
        torch.testing.assert_close(w.sum(-1), torch.ones(B, H, T))


def test_encoder_real_outputs_ignore_what_is_in_the_padding():
    enc = _encoder().eval()
    kpm = padding_mask([5, 2, 3])
    x = _x()
    noisy = x.clone()
    noisy[~kpm] = 100.0 * torch.randn(int((~kpm).sum()), D)
    with torch.no_grad():
        for need_weights in (False, True):
            out, _ = enc(x, valid_keys=kpm, need_weights=need_weights)
            out_noisy, _ = enc(noisy, valid_keys=kpm, need_weights=need_weights)
            torch.testing.assert_close(out[kpm], out_noisy[kpm])


def test_encoder_causal_outputs_ignore_the_future():
    enc = _encoder().eval()
    x = _x()
    changed = x.clone()
    changed[:, 3:] = torch.randn(B, T - 3, D)
    with torch.no_grad():
        out, _ = enc(x, is_causal=True)
        out_changed, _ = enc(changed, is_causal=True)
    torch.testing.assert_close(out[:, :3], out_changed[:, :3])
    assert not torch.allclose(out[:, 3:], out_changed[:, 3:])


@pytest.mark.parametrize("need_weights", [False, True], ids=["fast", "explicit"])
def test_encoder_gradients_reach_every_parameter(
    need_weights, attn_assert_grads_reach_every_parameter
):
    enc = _encoder(dropout=0.0).train()
    kpm = padding_mask([5, 2, 3])
    x = _x().requires_grad_(True)
    out, _ = enc(x, valid_keys=kpm, need_weights=need_weights)
    target = torch.randn(B, T, D, generator=torch.Generator().manual_seed(5))
    ((out - target)[kpm] ** 2).mean().backward()  # loss on real positions only
    attn_assert_grads_reach_every_parameter(enc)
    assert torch.isfinite(x.grad).all()


def test_encoder_rejects_zero_layers():
    with pytest.raises(ValueError, match="n_layers"):
        TransformerEncoder(D, H, n_layers=0)


def test_encoder_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="try n_heads="):
        TransformerEncoder(10, 4, n_layers=1)


# ------------------------------------------------------------ reference: torch's encoder
def _torch_encoder_with_our_weights(enc: TransformerEncoder) -> nn.TransformerEncoder:
    """torch's pre-norm GELU encoder (plus final LayerNorm) holding ``enc``'s weights."""
    layer = nn.TransformerEncoderLayer(
        D,
        H,
        dim_feedforward=16,
        dropout=0.0,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    theirs = nn.TransformerEncoder(
        layer, num_layers=L, norm=nn.LayerNorm(D), enable_nested_tensor=False
    )
    for ours, their in zip(enc.layers, theirs.layers, strict=True):
        their.self_attn.load_state_dict(ours.attn.to_torch().state_dict())
        their.norm1.load_state_dict(ours.norm1.state_dict())
        their.norm2.load_state_dict(ours.norm2.state_dict())
        their.linear1.load_state_dict(ours.ff[0].state_dict())
        their.linear2.load_state_dict(ours.ff[3].state_dict())
    theirs.norm.load_state_dict(enc.norm.state_dict())
    return theirs.eval()


@pytest.mark.parametrize("name", ["none", "key_padding", "causal", "causal_and_padding"])
@pytest.mark.parametrize("need_weights", [False, True], ids=["fast", "explicit"])
def test_encoder_matches_torch_pre_norm_encoder(name, need_weights):
    enc = _encoder().eval()
    with torch.no_grad():  # random LayerNorm affine, so a skipped or swapped norm shows
        for p in enc.parameters():
            if p.dim() == 1:
                p.normal_()
    theirs = _torch_encoder_with_our_weights(enc)
    kwargs = ENCODER_MASKS[name]
    torch_kwargs = {}
    if "valid_keys" in kwargs:
        torch_kwargs["src_key_padding_mask"] = ~kwargs["valid_keys"]
    if kwargs.get("is_causal"):
        torch_kwargs["mask"] = ~causal_mask(T)
        torch_kwargs["is_causal"] = True
    x = _x()
    out, _ = enc(x, **kwargs, need_weights=need_weights)
    expected = theirs(x, **torch_kwargs)
    torch.testing.assert_close(out, expected)
