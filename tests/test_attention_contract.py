"""The contract every attention block keeps (STYLE.md rule 11), run over every block.

BLOCKS holds one case per block type: Attention once per registered score (built from
SCORES, so a new score is covered without touching this file), MultiHeadAttention,
AttentionPooling, TransformerEncoder and the fusion block KnowledgeAttention. Each case
carries masks that leave some rows with no allowed key at all.
Legend: B batch, T queries, S keys, D width, H heads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pytest
import torch
from torch import Tensor, nn

from amkit.attention import (
    SCORES,
    Attention,
    AttentionPooling,
    MultiHeadAttention,
    TransformerEncoder,
    causal_mask,
    padding_mask,
)
from amkit.knowledge.fusion import KnowledgeAttention

B, T, S, D, H = 3, 4, 5, 8, 2


@dataclass
class BlockCase:
    module: nn.Module
    inputs: tuple[Tensor, ...]  # float inputs, requires_grad=True
    forward: Callable[[bool], tuple[Tensor, Tensor | list[Tensor] | None]]  # (need_weights)
    out_shape: tuple[int, ...]
    weights_shape: tuple[int, ...]  # of each weight tensor
    allowed: Tensor  # bool, broadcastable to weights_shape; True = may attend


def _randn(*shape: int, seed: int) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).requires_grad_(True)


def _attention_case(score: str) -> BlockCase:
    torch.manual_seed(0)
    dk = D + 2 if score in ("general", "additive") else D
    attn = Attention(score, query_dim=D, key_dim=dk)
    query, keys, values = _randn(B, T, D, seed=1), _randn(B, S, dk, seed=2), _randn(B, S, 3, seed=3)
    mask = torch.rand(B, T, S, generator=torch.Generator().manual_seed(4)) < 0.6
    mask[..., 1] = True
    mask[0, 2] = False  # one query with no allowed key
    return BlockCase(
        attn,
        (query, keys, values),
        lambda nw: attn(query, keys, values, mask=mask, need_weights=nw),
        out_shape=(B, T, 3),
        weights_shape=(B, T, S),
        allowed=mask,
    )


def _multihead_case() -> BlockCase:
    torch.manual_seed(0)
    mha = MultiHeadAttention(D, H, kdim=6, vdim=7)
    query, key, value = _randn(B, T, D, seed=1), _randn(B, S, 6, seed=2), _randn(B, S, 7, seed=3)
    kpm = padding_mask([5, 3, 0], max_len=S)  # batch 2 has no real key
    return BlockCase(
        mha,
        (query, key, value),
        lambda nw: mha(query, key, value, valid_keys=kpm, is_causal=True, need_weights=nw),
        out_shape=(B, T, D),
        weights_shape=(B, H, T, S),
        allowed=kpm[:, None, None, :] & causal_mask(T, S),
    )


def _pooling_case() -> BlockCase:
    torch.manual_seed(0)
    pool = AttentionPooling(D, hidden_dim=6)
    inputs = _randn(B, S, D, seed=1)
    mask = padding_mask([5, 2, 0], max_len=S)  # batch 2 is all padding
    return BlockCase(
        pool,
        (inputs,),
        lambda nw: pool(inputs, mask, need_weights=nw),
        out_shape=(B, D),
        weights_shape=(B, S),
        allowed=mask,
    )


def _encoder_case() -> BlockCase:
    torch.manual_seed(0)
    enc = TransformerEncoder(D, H, n_layers=2, d_ff=16, dropout=0.0)
    x = _randn(B, T, D, seed=1)
    kpm = padding_mask([4, 2, 0], max_len=T)  # batch 2 is all padding
    return BlockCase(
        enc,
        (x,),
        lambda nw: enc(x, valid_keys=kpm, need_weights=nw),
        out_shape=(B, T, D),
        weights_shape=(B, H, T, T),
        allowed=kpm[:, None, None, :],
    )


def _knowledge_attention_case() -> BlockCase:
    torch.manual_seed(0)
    block = KnowledgeAttention(D, knowledge_dim=6)
    h, facts = _randn(B, T, D, seed=1), _randn(B, T, S, 6, seed=2)
    fact_mask = torch.rand(B, T, S, generator=torch.Generator().manual_seed(3)) < 0.5
    fact_mask[0, 1] = False  # a token with no fact: all weight on the sentinel
    tokens = padding_mask([4, 2, 0], max_len=T)  # batch 2 is all padding
    allowed = torch.cat([fact_mask, torch.ones(B, T, 1, dtype=torch.bool)], -1) & tokens[..., None]
    return BlockCase(
        block,
        (h, facts),
        lambda nw: block(h, facts, fact_mask, tokens, need_weights=nw),
        out_shape=(B, T, D),
        weights_shape=(B, T, S + 1),
        allowed=allowed,
    )


BLOCKS: dict[str, Callable[[], BlockCase]] = {
    **{f"Attention[{name}]": partial(_attention_case, name) for name in sorted(SCORES)},
    "MultiHeadAttention": _multihead_case,
    "AttentionPooling": _pooling_case,
    "TransformerEncoder": _encoder_case,
    "KnowledgeAttention": _knowledge_attention_case,
}


def _as_list(weights: Tensor | list[Tensor]) -> list[Tensor]:
    return weights if isinstance(weights, list) else [weights]


@pytest.fixture(params=list(BLOCKS))
def case(request) -> BlockCase:
    return BLOCKS[request.param]()


def test_shapes_and_weights_only_when_asked(case):
    out, weights = case.forward(False)
    assert out.shape == case.out_shape
    assert weights is None
    out, weights = case.forward(True)
    assert out.shape == case.out_shape
    assert weights is not None
    for w in _as_list(weights):
        assert w.shape == case.weights_shape


def test_weight_rows_sum_to_one_and_masked_slots_are_exactly_zero(case):
    out, weights = case.forward(True)
    allowed = case.allowed.expand(case.weights_shape)
    row_any = allowed.any(-1)
    assert row_any.any()
    assert not row_any.all()  # the case really has rows with no allowed key
    assert torch.isfinite(out).all()
    for w in _as_list(weights):
        assert torch.all(w[~allowed] == 0.0)
        torch.testing.assert_close(w.sum(-1), row_any.to(w.dtype))


def test_fast_path_equals_reference_path(case):
    case.module.eval()
    with torch.no_grad():
        fast, _ = case.forward(False)
        reference, _ = case.forward(True)
    torch.testing.assert_close(fast, reference)


@pytest.mark.parametrize("need_weights", [False, True], ids=["fast", "explicit"])
def test_gradients_reach_every_parameter_and_input(
    case, need_weights, attn_assert_grads_reach_every_parameter
):
    case.module.train()
    out, _ = case.forward(need_weights)
    probe = torch.randn(out.shape, generator=torch.Generator().manual_seed(7))
    (out * probe).sum().backward()
    attn_assert_grads_reach_every_parameter(case.module)
    for i, x in enumerate(case.inputs):
        assert x.grad is not None, f"input {i} got no gradient"
        assert torch.isfinite(x.grad).all(), f"input {i} has a non-finite gradient"
        assert x.grad.abs().sum() > 0, f"input {i} has an all-zero gradient"
