"""MultiHeadAttention: equivalence with torch.nn.MultiheadAttention, fast == explicit path,
fully masked rows, errors.

amkit masks are True = may attend (valid_keys True = real key); torch's are True =
ignore, so every torch mask below is the negation of ours. torch's 3-D attn_mask is
(B*H, T, S) with row b*H + h; ours is (B, T, S) shared by the heads or (B, H, T, S).
Legend: B batch, T queries, S keys, D d_model, H heads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention import MultiHeadAttention, causal_mask, padding_mask

B, D, H = 3, 8, 2


@dataclass
class Case:
    """Inputs for one forward call, in amkit's and in torch's mask conventions."""

    query: Tensor
    key: Tensor
    value: Tensor
    ours: dict = field(default_factory=dict)  # kwargs for MultiHeadAttention.forward
    theirs: dict = field(default_factory=dict)  # kwargs for nn.MultiheadAttention.forward
    module: dict = field(default_factory=dict)  # constructor kwargs (bias, kdim, vdim)


def _random_mask(shape: tuple[int, ...], g: torch.Generator) -> Tensor:
    """Random allowed-mask whose every (.., T, S) row keeps key 0 (no fully masked rows)."""
    mask = torch.rand(shape, generator=g) < 0.6
    mask[..., 0] = True
    return mask


def make_case(name: str, seed: int = 0) -> Case:
    g = torch.Generator().manual_seed(seed)
    t = s = 4
    kdim = vdim = D
    module: dict = {}
    if name == "cross_kdim_vdim":
        t, s, kdim, vdim = 3, 6, 5, 7
        module = {"kdim": kdim, "vdim": vdim}
    elif name == "causal_rectangular":
        t, s = 3, 5
    x = torch.randn(B, t, D, generator=g)
    if t == s and kdim == vdim == D:
        key = value = x  # self-attention, like most callers
    else:
        key, value = torch.randn(B, s, kdim, generator=g), torch.randn(B, s, vdim, generator=g)
    case = Case(x, key, value, module=module)

    lengths = padding_mask([s, 2, s - 1])  # (B, S), every row keeps >= 1 key
    if name in ("key_padding", "no_bias", "cross_kdim_vdim", "causal_and_padding"):
        case.ours["valid_keys"] = lengths
        case.theirs["key_padding_mask"] = ~lengths
    if name == "no_bias":
        case.module["bias"] = False
    if name in ("mask_2d", "mask_and_padding"):
        mask = _random_mask((t, s), g)
        case.ours["mask"], case.theirs["attn_mask"] = mask, ~mask
    if name == "mask_and_padding":
        case.ours["valid_keys"], case.theirs["key_padding_mask"] = lengths, ~lengths
    if name == "mask_3d":
        mask = _random_mask((B, t, s), g)
        case.ours["mask"] = mask
        case.theirs["attn_mask"] = (~mask).repeat_interleave(H, dim=0)  # (B*H, T, S)
    if name == "mask_4d":
        mask = _random_mask((B, H, t, s), g)
        case.ours["mask"] = mask
        case.theirs["attn_mask"] = (~mask).reshape(B * H, t, s)
    if name in ("causal", "causal_and_padding", "causal_rectangular"):
        case.ours["is_causal"] = True
        # torch needs the mask itself with is_causal=True (the flag is only a hint)
        case.theirs["attn_mask"] = ~causal_mask(t, s)
        case.theirs["is_causal"] = True
    return case


TORCH_CASES = [
    "no_mask",
    "key_padding",
    "mask_2d",
    "mask_3d",
    "mask_4d",
    "mask_and_padding",
    "causal",
    "causal_and_padding",
    "causal_rectangular",
    "cross_kdim_vdim",
    "no_bias",
]


def _torch_mha(seed: int = 0, **kwargs) -> nn.MultiheadAttention:
    torch.manual_seed(seed)
    mha = nn.MultiheadAttention(D, H, batch_first=True, **kwargs).eval()
    with torch.no_grad():  # torch starts biases at 0; random ones catch a wrong bias split
        for p in mha.parameters():
            if p.dim() == 1:
                p.normal_()
    return mha


def _compare_with_torch(ours: MultiHeadAttention, theirs: nn.MultiheadAttention, case: Case):
    ours.eval(), theirs.eval()
    q, k, v = case.query, case.key, case.value
    with torch.no_grad():
        out_fast, none = ours(q, k, v, **case.ours)
        out, weights = ours(q, k, v, **case.ours, need_weights=True)  # (B, H, T, S)
        t_out, t_avg = theirs(q, k, v, **case.theirs, need_weights=True)
        _, t_heads = theirs(q, k, v, **case.theirs, need_weights=True, average_attn_weights=False)
        t_out_fast, _ = theirs(q, k, v, **case.theirs, need_weights=False)
    assert none is None
    assert weights.shape == (q.shape[0], H, q.shape[1], k.shape[1])
    torch.testing.assert_close(out, t_out)
    torch.testing.assert_close(out_fast, t_out)
    torch.testing.assert_close(out_fast, t_out_fast)
    torch.testing.assert_close(weights.mean(dim=1), t_avg)
    torch.testing.assert_close(weights, t_heads)


# --------------------------------------------------------------------- torch equivalence
@pytest.mark.parametrize("name", TORCH_CASES)
def test_from_torch_matches_torch_multihead_attention(name):
    case = make_case(name)
    theirs = _torch_mha(**case.module)
    _compare_with_torch(MultiHeadAttention.from_torch(theirs), theirs, case)


@pytest.mark.parametrize("name", TORCH_CASES)
def test_to_torch_matches_and_round_trips(name):
    case = make_case(name)
    torch.manual_seed(1)
    ours = MultiHeadAttention(D, H, **case.module)
    theirs = ours.to_torch()
    assert theirs.batch_first
    _compare_with_torch(ours, theirs, case)

    back = MultiHeadAttention.from_torch(theirs)
    assert back.state_dict().keys() == ours.state_dict().keys()
    for key, value in ours.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_torch_interop_keeps_dtype(dtype):
    theirs = _torch_mha().to(dtype)
    ours = MultiHeadAttention.from_torch(theirs)
    assert all(p.dtype == dtype for p in ours.parameters())
    assert all(p.dtype == dtype for p in ours.to_torch().parameters())
    x = torch.randn(2, 4, D, dtype=dtype)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[0], theirs(x, x, x)[0])


def test_from_torch_rejects_what_it_cannot_express():
    with pytest.raises(ValueError, match="add_bias_kv"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(D, H, add_bias_kv=True))
    with pytest.raises(ValueError, match="add_zero_attn"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(D, H, add_zero_attn=True))


# ------------------------------------------------------------------- fast == explicit path
def _mask_config(name: str, b: int, t: int, s: int, g: torch.Generator) -> dict:
    """Forward kwargs for the fast/explicit comparison; some leave rows with no key."""
    kpm = padding_mask([s, 0, 2][:b], max_len=s)  # batch element 1 has no key at all
    rows = torch.ones(b, t, s, dtype=torch.bool)
    rows[0, 1] = False  # one query row with no allowed key
    return {
        "none": {},
        "key_padding": {"valid_keys": kpm},
        "mask_2d": {"mask": torch.rand(t, s, generator=g) < 0.5},
        "mask_3d_empty_rows": {"mask": rows},
        "mask_4d": {"mask": torch.rand(b, H, t, s, generator=g) < 0.5},
        "causal": {"is_causal": True},
        "causal_and_padding": {"is_causal": True, "valid_keys": kpm},
        "everything_masked": {"valid_keys": torch.zeros(b, s, dtype=torch.bool)},
        "all_of_them": {
            "mask": torch.rand(b, t, s, generator=g) < 0.7,
            "valid_keys": kpm,
            "is_causal": True,
        },
    }[name]


FAST_CASES = [
    "none",
    "key_padding",
    "mask_2d",
    "mask_3d_empty_rows",
    "mask_4d",
    "causal",
    "causal_and_padding",
    "everything_masked",
    "all_of_them",
]


@pytest.mark.parametrize("name", FAST_CASES)
@pytest.mark.parametrize(("t", "s"), [(4, 4), (3, 5), (5, 3)], ids=["square", "wide", "tall"])
def test_fast_path_equals_explicit_path(name, t, s):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    mha = MultiHeadAttention(D, H, dropout=0.1).eval()
    query, key = torch.randn(B, t, D, generator=g), torch.randn(B, s, D, generator=g)
    kwargs = _mask_config(name, B, t, s, g)
    with torch.no_grad():
        fast, none = mha(query, key, **kwargs)
        explicit, weights = mha(query, key, **kwargs, need_weights=True)
    assert none is None
    assert weights is not None
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast, explicit)


def test_bf16_autocast_runs_the_fused_kernel_in_float32_and_stays_close(monkeypatch):
    """Under CPU bfloat16 autocast (``train.precision: bf16``) the projections compute in
    bfloat16 but the fused kernel gets float32 inputs (its bfloat16 backward is slow on
    CPU); outputs and gradients stay close to the float32 block's."""
    dtypes, kernel = [], F.scaled_dot_product_attention

    def spy(q, k, v, **kwargs):
        dtypes.append((q.dtype, k.dtype, v.dtype))
        return kernel(q, k, v, **kwargs)

    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    mha = MultiHeadAttention(D, H)
    query = torch.randn(B, 4, D, generator=g, requires_grad=True)
    kwargs = _mask_config("causal_and_padding", B, 4, 4, g)
    reference, _ = mha(query, **kwargs)
    (expected,) = torch.autograd.grad(reference.sum(), query)
    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    with torch.autocast("cpu", torch.bfloat16):
        out, _ = mha(query, **kwargs)
    (grad,) = torch.autograd.grad(out.float().sum(), query)
    assert out.dtype == torch.bfloat16 and dtypes == [(torch.float32,) * 3]
    torch.testing.assert_close(out.float(), reference, atol=0.05, rtol=0.05)
    torch.testing.assert_close(grad, expected, atol=0.05, rtol=0.05)


# ------------------------------------------------------------------- fully masked rows
def _fully_masked_setup():
    g = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    mha = MultiHeadAttention(D, H).eval()
    query = torch.randn(B, 4, D, generator=g, requires_grad=True)
    key = torch.randn(B, 5, D, generator=g, requires_grad=True)
    value = torch.randn(B, 5, D, generator=g, requires_grad=True)
    mask = torch.rand(B, 4, 5, generator=g) < 0.6
    mask[..., 0] = True
    mask[0, 2] = False  # query 2 of batch 0 sees nothing
    kpm = torch.tensor([[True] * 5, [False] * 5, [True] * 5])  # batch 1 has no real key
    empty = ~(mask & kpm[:, None, :]).any(-1)  # (B, T) rows with no allowed key
    return mha, (query, key, value), {"mask": mask, "valid_keys": kpm}, empty


@pytest.mark.parametrize("need_weights", [False, True], ids=["fast", "explicit"])
def test_fully_masked_rows_give_out_proj_bias_and_zero_weights(need_weights):
    mha, (query, key, value), masks, empty = _fully_masked_setup()
    assert empty.sum() == 5  # the setup really has empty rows: 1 + all 4 of batch 1
    out, _ = mha(query, key, value, **masks, need_weights=need_weights)
    _, weights = mha(query, key, value, **masks, need_weights=True)

    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[empty], mha.out_proj.bias.expand(int(empty.sum()), D))
    assert torch.all(weights.permute(0, 2, 1, 3)[empty] == 0.0)  # all heads of empty rows
    torch.testing.assert_close(weights.sum(-1), (~empty)[:, None, :].float().expand(B, H, 4))
    assert not torch.allclose(out[~empty], mha.out_proj.bias.expand(int((~empty).sum()), D))


@pytest.mark.parametrize("need_weights", [False, True], ids=["fast", "explicit"])
def test_fully_masked_rows_backward_is_finite(
    need_weights, attn_assert_grads_reach_every_parameter
):
    mha, inputs, masks, empty = _fully_masked_setup()
    out, weights = mha(*inputs, **masks, need_weights=need_weights)
    loss = out.pow(2).sum() + (weights.pow(2).sum() if need_weights else 0.0)
    loss.backward()

    attn_assert_grads_reach_every_parameter(mha)
    for x in inputs:
        assert x.grad is not None
        assert torch.isfinite(x.grad).all()
    # the output of an empty row is a constant: its query gets exactly zero gradient
    assert torch.all(inputs[0].grad[empty] == 0.0)
    assert inputs[0].grad[~empty].abs().sum() > 0


def _nan_on_empty_rows_sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
    """SDPA as older torch / other kernels compute it: NaN for a row with no allowed key."""
    assert dropout_p == 0.0
    scores = (q @ k.transpose(-1, -2)) / q.shape[-1] ** 0.5
    if is_causal:
        attn_mask = causal_mask(q.shape[-2], k.shape[-2])
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    return scores.softmax(-1) @ v


def test_fast_path_does_not_rely_on_the_kernel_for_fully_masked_rows(monkeypatch):
    monkeypatch.setattr(F, "scaled_dot_product_attention", _nan_on_empty_rows_sdpa)
    mha, inputs, masks, empty = _fully_masked_setup()
    out, _ = mha(*inputs, **masks)
    out.pow(2).sum().backward()
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[empty], mha.out_proj.bias.expand(int(empty.sum()), D))
    assert all(torch.isfinite(x.grad).all() for x in inputs)
    assert all(torch.isfinite(p.grad).all() for p in mha.parameters())


@pytest.mark.parametrize("need_weights", [False, True], ids=["fast", "explicit"])
def test_gradcheck_float64_with_fully_masked_rows(need_weights):
    torch.manual_seed(0)
    mha = MultiHeadAttention(4, 2).double().eval()
    g = torch.Generator().manual_seed(0)
    query = torch.randn(2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    key = torch.randn(2, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[0, 1] = False
    mask[1, :, 2:] = False

    def fn(q: Tensor, k: Tensor) -> Tensor:
        return mha(q, k, mask=mask, is_causal=True, need_weights=need_weights)[0]

    assert torch.autograd.gradcheck(fn, (query, key))


# ------------------------------------------------------------------------ weights contract
def test_weights_are_per_head_post_softmax_and_pre_dropout():
    torch.manual_seed(0)
    mha = MultiHeadAttention(D, H, dropout=0.5).train()
    x = torch.randn(B, 4, D)
    kpm = padding_mask([4, 2, 3])
    _, weights = mha(x, valid_keys=kpm, need_weights=True)
    assert weights.shape == (B, H, 4, 4)
    assert torch.all(weights[~kpm[:, None, None, :].expand_as(weights)] == 0.0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, H, 4))  # dropout would break this
    _, eval_weights = mha.eval()(x, valid_keys=kpm, need_weights=True)
    torch.testing.assert_close(weights, eval_weights)


def test_self_attention_defaults_key_and_value_to_query():
    torch.manual_seed(0)
    mha = MultiHeadAttention(D, H)
    x = torch.randn(B, 4, D)
    torch.testing.assert_close(mha(x)[0], mha(x, x, x)[0])


# -------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("d_model", "n_heads"), [(300, 8), (10, 4), (7, 3), (8, 16)])
def test_indivisible_d_model_names_both_numbers_and_a_fix(d_model, n_heads):
    with pytest.raises(ValueError) as info:
        MultiHeadAttention(d_model, n_heads)
    message = str(info.value)
    assert f"({d_model})" in message
    assert f"({n_heads})" in message
    assert "try n_heads=" in message
    suggested = [int(h) for h in message.split("try n_heads=")[1].split(" or ")]
    assert suggested
    assert all(d_model % h == 0 for h in suggested)


def test_indivisible_d_model_suggests_the_nearest_divisors():
    with pytest.raises(ValueError, match=r"try n_heads=6 or 10"):
        MultiHeadAttention(300, 8)


@pytest.mark.parametrize(
    "kwargs", [{"d_model": 0, "n_heads": 1}, {"d_model": 8, "n_heads": 0}, {"dropout": 1.0}]
)
def test_bad_constructor_values_are_value_errors(kwargs):
    with pytest.raises(ValueError):
        MultiHeadAttention(**{"d_model": 8, "n_heads": 2, **kwargs})


@pytest.mark.parametrize("need_weights", [False, True], ids=["fast", "explicit"])
@pytest.mark.parametrize("which", ["mask", "valid_keys"])
def test_non_bool_masks_are_type_errors(which, need_weights):
    mha = MultiHeadAttention(D, H)
    shape = (4, 4) if which == "mask" else (B, 4)
    with pytest.raises(TypeError, match="bool"):
        mha(torch.randn(B, 4, D), **{which: torch.ones(shape)}, need_weights=need_weights)


@pytest.mark.parametrize(
    ("which", "shape"),
    [
        ("mask", (4, 5)),
        ("mask", (B, 3, 4)),
        ("mask", (B * H, 4, 4)),  # torch's 3-D layout
        ("mask", (B + 1, H, 4, 4)),
        ("mask", (1, 1, 1, 4, 4)),
        ("valid_keys", (B, 5)),
        ("valid_keys", (B + 1, 4)),
    ],
)
@pytest.mark.parametrize("need_weights", [False, True], ids=["fast", "explicit"])
def test_wrong_mask_shape_is_a_value_error_naming_the_shape(which, shape, need_weights):
    mha = MultiHeadAttention(D, H)
    mask = torch.ones(shape, dtype=torch.bool)
    named = str(shape).replace("(", r"\(").replace(")", r"\)") if len(shape) < 5 else "5-D"
    with pytest.raises(ValueError, match=named):
        mha(torch.randn(B, 4, D), **{which: mask}, need_weights=need_weights)


def test_wrong_input_shapes_are_value_errors():
    mha = MultiHeadAttention(D, H, kdim=5, vdim=7)
    with pytest.raises(ValueError, match="batch-first"):
        mha(torch.randn(4, D))
    with pytest.raises(ValueError, match="d_model"):
        mha(torch.randn(B, 4, D + 1), torch.randn(B, 3, 5), torch.randn(B, 3, 7))
    with pytest.raises(ValueError, match="kdim"):
        mha(torch.randn(B, 4, D), torch.randn(B, 3, D), torch.randn(B, 3, 7))
    with pytest.raises(ValueError, match="vdim"):
        mha(torch.randn(B, 4, D), torch.randn(B, 3, 5), torch.randn(B, 3, 5))
    with pytest.raises(ValueError, match=r"\(B, S\)"):
        mha(torch.randn(B, 4, D), torch.randn(B, 3, 5), torch.randn(B, 2, 7))


@pytest.mark.parametrize("need_weights", [False, True])
def test_attn_bias_is_added_to_the_scaled_scores_and_masks_still_win(need_weights):
    """softmax(q k^T / sqrt(Dh) + bias) with masked keys at exactly 0, against a naive
    computation; the fused and the explicit paths agree."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(D, H).eval()
    x = torch.randn(B, 5, D)
    real = torch.tensor([[True] * 5, [True, True, True, False, False], [True] * 4 + [False]])
    bias = torch.randn(1, H, 5, 5) * 3
    bias[..., 4] = 50.0  # a huge bias on a key that rows 1 and 2 mask out
    out, weights = mha(x, valid_keys=real, attn_bias=bias, need_weights=True)
    q, k, v = (mha._split_heads(p(x)) for p in (mha.q_proj, mha.k_proj, mha.v_proj))
    scores = q @ k.transpose(-1, -2) / (D // H) ** 0.5 + bias
    scores = scores.masked_fill(~real[:, None, None, :], float("-inf"))
    expected_weights = scores.softmax(-1)  # (B, H, T, S)
    torch.testing.assert_close(weights, expected_weights)
    assert torch.all(weights[1, ..., 3:] == 0) and torch.all(weights[2, ..., 4] == 0)
    context = (expected_weights @ v).transpose(1, 2).reshape(B, 5, D)
    fast, _ = mha(x, valid_keys=real, attn_bias=bias, need_weights=need_weights)
    torch.testing.assert_close(fast, mha.out_proj(context))
    torch.testing.assert_close(fast, out)


def test_attn_bias_with_causal_mask_and_wrong_shape():
    torch.manual_seed(1)
    mha = MultiHeadAttention(D, H).eval()
    x = torch.randn(B, 4, D)
    bias = torch.randn(B, 1, 4, 4)
    fast, _ = mha(x, is_causal=True, attn_bias=bias)
    slow, weights = mha(x, is_causal=True, attn_bias=bias, need_weights=True)
    torch.testing.assert_close(fast, slow)
    assert torch.all(weights.triu(1) == 0)  # no future key, whatever its bias
    zero, _ = mha(x, is_causal=True, attn_bias=torch.zeros(1, 1, 4, 4))
    torch.testing.assert_close(zero, mha(x, is_causal=True)[0])
    with pytest.raises(ValueError, match="attn_bias must have 4 dims"):
        mha(x, attn_bias=torch.zeros(4, 4))


def test_attn_bias_under_bf16_autocast_stays_close_to_float32():
    """The float mask (bias, -inf where masked) follows q to float32 in the fused kernel."""
    torch.manual_seed(4)
    mha = MultiHeadAttention(D, H).eval()
    x = torch.randn(B, 5, D)
    real = torch.tensor([[True] * 5, [True, True, True, False, False], [True] * 5])
    bias = torch.randn(1, H, 5, 5)
    reference, _ = mha(x, valid_keys=real, attn_bias=bias)
    with torch.autocast("cpu", torch.bfloat16):
        out, _ = mha(x, valid_keys=real, attn_bias=bias)
    torch.testing.assert_close(out.float(), reference, atol=0.05, rtol=0.05)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("projected", [False, True])
def test_linear_attention_uses_the_scaled_scores_as_weights(need_weights, projected):
    """``linear=True`` (MemN2N's linear start): weights = q k^T / sqrt(Dh) with masked keys
    at exactly 0 and no softmax, whether or not the weights are asked for and whether the
    keys come raw or projected (``kv``); the call after it, without ``linear``, has the
    softmax back: the mode is an argument, the module keeps no state of it."""
    torch.manual_seed(5)
    mha = MultiHeadAttention(D, H).eval()
    x = torch.randn(B, 5, D)
    real = torch.tensor([[True] * 5, [True, True, True, False, False], [True] * 4 + [False]])
    softmax_out, _ = mha(x, valid_keys=real)
    kv = mha.project_kv(x) if projected else None
    out, weights = mha(x, valid_keys=real, need_weights=need_weights, kv=kv, linear=True)
    q, k, v = (mha._split_heads(p(x)) for p in (mha.q_proj, mha.k_proj, mha.v_proj))
    scores = q @ k.transpose(-1, -2) / (D // H) ** 0.5
    expected_weights = scores.masked_fill(~real[:, None, None, :], 0.0)  # (B, H, T, S)
    context = (expected_weights @ v).transpose(1, 2).reshape(B, 5, D)
    torch.testing.assert_close(out, mha.out_proj(context))
    if need_weights:
        torch.testing.assert_close(weights, expected_weights)
        assert torch.all(weights[1, :, :, 3:] == 0)  # masked keys: exactly 0
    else:
        assert weights is None
    torch.testing.assert_close(mha(x, valid_keys=real)[0], softmax_out)
    assert not hasattr(mha, "linear")


def test_linear_attention_with_a_causal_mask_and_a_bias_is_the_naive_formula():
    """Causal keys and an additive bias in linear mode: weights = scaled scores + bias, 0
    above the diagonal (the bias of a masked key does not leak in)."""
    torch.manual_seed(6)
    mha = MultiHeadAttention(D, H).eval()
    x = torch.randn(B, 4, D)
    bias = torch.randn(1, H, 4, 4)
    _, weights = mha(x, is_causal=True, attn_bias=bias, need_weights=True, linear=True)
    q, k = mha._split_heads(mha.q_proj(x)), mha._split_heads(mha.k_proj(x))
    scores = q @ k.transpose(-1, -2) / (D // H) ** 0.5 + bias  # (B, H, T, T)
    expected = scores.masked_fill(~causal_mask(4, 4), 0.0)
    torch.testing.assert_close(weights, expected)


def test_the_old_key_padding_mask_keyword_warns_and_means_valid_keys():
    """amkit's key mask is True at real keys, the opposite of torch's key_padding_mask, so it
    is named valid_keys; the old keyword still works, with a FutureWarning."""
    from amkit.attention import TransformerEncoder
    from amkit.errors import UserError
    from amkit.memory import UniversalTransformer

    torch.manual_seed(0)
    x = torch.randn(2, 5, 8)
    real = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    mha = MultiHeadAttention(8, 2).eval()
    expected = mha(x, valid_keys=real, need_weights=True)
    with pytest.warns(FutureWarning, match="key_padding_mask is renamed valid_keys"):
        old = mha(x, key_padding_mask=real, need_weights=True)
    torch.testing.assert_close(old[0], expected[0])
    torch.testing.assert_close(old[1], expected[1])
    with pytest.raises(UserError, match="give valid_keys only"):
        mha(x, valid_keys=real, key_padding_mask=real)
    encoder = TransformerEncoder(8, 2, 1).eval()
    with pytest.warns(FutureWarning, match="TransformerEncoder: key_padding_mask"):
        torch.testing.assert_close(
            encoder(x, key_padding_mask=real)[0], encoder(x, valid_keys=real)[0]
        )
    ut = UniversalTransformer(8, 2, max_positions=5, max_steps=2).eval()
    with pytest.warns(FutureWarning, match="UniversalTransformer: key_padding_mask"):
        torch.testing.assert_close(
            ut(x, key_padding_mask=real).states, ut(x, valid_keys=real).states
        )
