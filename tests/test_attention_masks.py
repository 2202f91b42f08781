"""Mask helpers and the masked softmax (amkit.attention.masks).

Convention under test: a bool mask is True where attention is ALLOWED (as in SDPA).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from amkit.attention import causal_mask, from_torch_mask, masked_softmax, merge_masks, padding_mask

CPU = torch.device("cpu")


# ----------------------------------------------------------------------------- padding_mask
def test_padding_mask_marks_real_positions_true():
    mask = padding_mask([2, 0, 3])
    expected = torch.tensor(
        [[True, True, False], [False, False, False], [True, True, True]], dtype=torch.bool
    )
    assert mask.dtype == torch.bool
    assert torch.equal(mask, expected)


def test_padding_mask_max_len_widens_the_mask():
    mask = padding_mask(torch.tensor([1, 2]), max_len=4)
    expected = torch.tensor([[True, False, False, False], [True, True, False, False]])
    assert torch.equal(mask, expected)


def test_padding_mask_rejects_bad_lengths():
    with pytest.raises(ValueError, match=r"1-D.*\(2, 2\)"):
        padding_mask(torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=">= 0"):
        padding_mask([3, -1])


# ------------------------------------------------------------------------------ causal_mask
@pytest.mark.parametrize(("t", "s"), [(1, 1), (4, 4), (3, 5), (5, 3)])
def test_causal_mask_equals_tril(t, s):
    mask = causal_mask(t, s)
    assert mask.dtype == torch.bool
    assert torch.equal(mask, torch.tril(torch.ones(t, s)).bool())


def test_causal_mask_defaults_to_square():
    assert torch.equal(causal_mask(3), torch.tril(torch.ones(3, 3)).bool())


@pytest.mark.parametrize(("t", "s"), [(4, 4), (3, 5), (5, 3)])
def test_causal_mask_is_aligned_like_sdpa_is_causal(t, s):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, n, 4, generator=g) for n in (t, s, s))
    ours = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(t, s))
    theirs = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(ours, theirs)


# -------------------------------------------------------------------------- from_torch_mask
def test_from_torch_mask_inverts_ignore_into_allowed():
    torch_mask = torch.tensor([[False, True], [True, True]])  # torch: True = ignore
    assert torch.equal(from_torch_mask(torch_mask), torch.tensor([[True, False], [False, False]]))


def test_from_torch_mask_rejects_float_masks():
    with pytest.raises(TypeError, match="bool"):
        from_torch_mask(torch.zeros(2, 2))


# ------------------------------------------------------------------------------ merge_masks
def test_merge_masks_nothing_to_mask_is_none():
    assert merge_masks(None, None, False, 2, 3, 4, CPU) is None


@pytest.mark.parametrize(
    ("mask_dims", "use_padding", "is_causal"),
    [
        (dims, pad, causal)
        for dims in (None, 2, 3, 4)
        for pad in (False, True)
        for causal in (False, True)
        if (dims, pad, causal) != (None, False, False)  # nothing to merge: the None test
    ],
)
def test_merge_masks_is_the_and_of_its_parts(mask_dims, use_padding, is_causal):
    b, h, t, s = 2, 3, 4, 5
    g = torch.Generator().manual_seed(1)
    shapes = {2: (t, s), 3: (b, t, s), 4: (b, h, t, s)}
    mask = None if mask_dims is None else torch.rand(shapes[mask_dims], generator=g) < 0.7
    kpm = padding_mask([5, 2]) if use_padding else None

    expected = torch.ones(b, h, t, s, dtype=torch.bool)
    if mask is not None:
        expected &= mask if mask_dims != 3 else mask[:, None]
    if kpm is not None:
        expected &= kpm[:, None, None, :]
    if is_causal:
        expected &= torch.tril(torch.ones(t, s)).bool()

    merged = merge_masks(mask, kpm, is_causal, b, t, s, CPU)
    assert merged.dim() == 4
    assert torch.equal(merged.expand(b, h, t, s), expected)


def test_merge_masks_rejects_wrong_dtypes():
    with pytest.raises(TypeError, match="bool"):
        merge_masks(torch.ones(3, 4), None, False, 2, 3, 4, CPU)
    with pytest.raises(TypeError, match="bool"):
        merge_masks(None, torch.ones(2, 4), False, 2, 3, 4, CPU)


@pytest.mark.parametrize(
    ("mask_shape", "kpm_shape", "named"),
    [
        ((3, 5), None, r"\(3, 5\)"),  # wrong key count
        ((4, 4), None, r"\(4, 4\)"),  # wrong query count
        ((2, 1, 1, 3, 4), None, "5-D"),
        ((5, 3, 4), None, r"\(5, 3, 4\)"),  # batch 5 != 2
        ((6, 3, 4), None, r"\(6, 3, 4\)"),  # torch's (B*H, T, S) layout
        ((3, 2, 3, 4), None, r"\(3, 2, 3, 4\)"),  # 4-D, batch 3 != 2
        (None, (2, 5), r"\(2, 5\)"),
        (None, (3, 4), r"\(3, 4\)"),
    ],
)
def test_merge_masks_wrong_shape_is_a_value_error_naming_the_shape(mask_shape, kpm_shape, named):
    mask = None if mask_shape is None else torch.ones(mask_shape, dtype=torch.bool)
    kpm = None if kpm_shape is None else torch.ones(kpm_shape, dtype=torch.bool)
    with pytest.raises(ValueError, match=named):
        merge_masks(mask, kpm, False, 2, 3, 4, CPU)


# --------------------------------------------------------------------------- masked_softmax
def test_masked_softmax_zero_on_masked_and_rows_sum_to_one():
    g = torch.Generator().manual_seed(2)
    scores = torch.randn(2, 3, 5, generator=g, requires_grad=True)
    mask = torch.rand(2, 3, 5, generator=g) < 0.6
    mask[0, 0] = False  # one row with nothing allowed
    mask[1, 2] = True
    weights = masked_softmax(scores, mask)

    assert torch.all(weights[~mask] == 0.0)
    row_any = mask.any(-1)
    torch.testing.assert_close(weights.sum(-1), row_any.float())
    # allowed entries are the plain softmax over the allowed subset
    for b, t in row_any.nonzero().tolist():
        allowed = mask[b, t]
        torch.testing.assert_close(weights[b, t, allowed], scores[b, t, allowed].softmax(-1))

    weights.pow(2).sum().backward()
    assert torch.isfinite(scores.grad).all()
    assert torch.all(scores.grad[0, 0] == 0.0)


def test_masked_softmax_without_mask_is_softmax():
    scores = torch.randn(3, 4, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(masked_softmax(scores, None), scores.softmax(-1))


def test_masked_softmax_broadcasts_mask_and_keeps_low_precision_dtype():
    scores = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(4)).bfloat16()
    kpm = torch.tensor([[True, True, False, False], [True, True, True, True]])
    weights = masked_softmax(scores, kpm[:, None, :])
    assert weights.dtype == torch.bfloat16
    assert torch.all(weights[0, :, 2:] == 0.0)
    torch.testing.assert_close(weights.float().sum(-1), torch.ones(2, 3), atol=1e-2, rtol=0)
