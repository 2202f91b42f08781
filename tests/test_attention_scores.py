"""Score functions and the generic Attention module (amkit.attention.scores).

Every registered score is covered automatically: the tests parametrize over SCORES.
Legend: B batch, T queries, S keys, Dq/Dk/Dv query/key/value width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from amkit.attention import SCORES, Attention, Score, make_score

SCORE_NAMES = sorted(SCORES)
# Scores with their own weights accept Dk != Dq; the tests use that to catch transposed weights.
WIDTH_MIXING = {"general", "additive"}
# derandomize: a fixed example sequence, so CI is reproducible like the rest of the suite.
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True)


@dataclass
class Problem:
    """One random attention problem, in float64."""

    attn: Attention
    query: Tensor  # (B, T, Dq)
    keys: Tensor  # (B, S, Dk)
    values: Tensor  # (B, S, Dv)
    mask: Tensor | None  # (B, S) or (B, T, S), True = may attend
    generator: torch.Generator


@st.composite
def problems(draw, score: str) -> Problem:
    b, t, s = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    dq, dv = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    mask_kind = draw(st.sampled_from(["none", "keys", "per_query"]))
    seed = draw(st.integers(0, 2**16))

    torch.manual_seed(seed)
    dk = dq + 1 if score in WIDTH_MIXING else dq
    attn = Attention(score, query_dim=dq, key_dim=dk).double().eval()
    g = torch.Generator().manual_seed(seed)
    query = torch.randn(b, t, dq, generator=g, dtype=torch.float64)
    keys = torch.randn(b, s, dk, generator=g, dtype=torch.float64)
    values = torch.randn(b, s, dv, generator=g, dtype=torch.float64)
    mask_shape = {"none": None, "keys": (b, s), "per_query": (b, t, s)}[mask_kind]
    # p(allowed) = 0.6 so that small S often gives rows with no allowed key at all.
    mask = None if mask_shape is None else torch.rand(mask_shape, generator=g) < 0.6
    return Problem(attn, query, keys, values, mask, g)


def _allowed(p: Problem) -> Tensor:
    """The mask as (B, T, S); all True without a mask."""
    b, t, s = p.query.shape[0], p.query.shape[1], p.keys.shape[1]
    if p.mask is None:
        return torch.ones(b, t, s, dtype=torch.bool)
    return (p.mask[:, None, :] if p.mask.dim() == 2 else p.mask).expand(b, t, s)


# ----------------------------------------------------------------------- property tests
@pytest.mark.parametrize("score", SCORE_NAMES)
@PROPERTY
@given(data=st.data())
def test_weights_sum_to_one_over_allowed_keys_and_masked_keys_are_zero(score, data):
    p = data.draw(problems(score))
    context, weights = p.attn(p.query, p.keys, p.values, mask=p.mask, need_weights=True)
    allowed = _allowed(p)
    row_any = allowed.any(-1)  # (B, T)

    assert weights.shape == allowed.shape
    assert torch.all(weights[~allowed] == 0.0)
    torch.testing.assert_close(weights.sum(-1)[row_any], torch.ones_like(weights.sum(-1)[row_any]))
    assert torch.all(weights[~row_any] == 0.0)
    assert torch.all(context[~row_any] == 0.0)
    assert torch.isfinite(context).all()


@pytest.mark.parametrize("score", SCORE_NAMES)
@PROPERTY
@given(data=st.data())
def test_permuting_key_value_pairs_leaves_context_unchanged(score, data):
    p = data.draw(problems(score))
    perm = torch.randperm(p.keys.shape[1], generator=p.generator)
    mask_perm = None if p.mask is None else p.mask[..., perm]

    context, weights = p.attn(p.query, p.keys, p.values, mask=p.mask, need_weights=True)
    context_p, weights_p = p.attn(
        p.query, p.keys[:, perm], p.values[:, perm], mask=mask_perm, need_weights=True
    )
    torch.testing.assert_close(context_p, context)
    torch.testing.assert_close(weights_p, weights[..., perm])


@pytest.mark.parametrize("score", SCORE_NAMES)
@PROPERTY
@given(data=st.data())
def test_single_query_equals_a_sequence_of_one(score, data):
    p = data.draw(problems(score))
    query = p.query[:, 0]  # (B, Dq)
    mask = None if p.mask is None else _allowed(p)[:, 0]  # (B, S)
    b, s, dv = p.values.shape

    context, weights = p.attn(query, p.keys, p.values, mask=mask, need_weights=True)
    context_seq, weights_seq = p.attn(
        query[:, None], p.keys, p.values, mask=mask, need_weights=True
    )
    assert context.shape == (b, dv)
    assert weights.shape == (b, s)
    torch.testing.assert_close(context, context_seq[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(weights, weights_seq[:, 0], rtol=0, atol=0)


# ---------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("score", SCORE_NAMES)
def test_gradcheck_float64_through_attention_with_mask(score):
    torch.manual_seed(0)
    dk = 4 if score in WIDTH_MIXING else 3
    attn = Attention(score, query_dim=3, key_dim=dk).double()
    g = torch.Generator().manual_seed(0)
    query = torch.randn(2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    keys = torch.randn(2, 4, dk, generator=g, dtype=torch.float64, requires_grad=True)
    values = torch.randn(2, 4, 2, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[0, :, 3] = False  # a padded key
    mask[1, 0, :2] = False  # some keys hidden from one query
    mask[1, 2] = False  # a query with no allowed key at all

    def fn(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        return attn(q, k, v, mask=mask, need_weights=True)

    assert torch.autograd.gradcheck(fn, (query, keys, values))


# ----------------------------------------------------------------------- reference checks
@torch.no_grad()
def _naive_score(score: Score, q: Tensor, k: Tensor) -> float:
    """The textbook formula for one query vector and one key vector."""
    name = next(n for n, cls in SCORES.items() if isinstance(score, cls))
    if name == "dot":
        return float(sum(qi * ki for qi, ki in zip(q, k, strict=True)))
    if name == "scaled_dot":
        return float(sum(qi * ki for qi, ki in zip(q, k, strict=True))) / math.sqrt(len(q))
    if name == "general":
        w = score.weight.weight  # (Dq, Dk)
        return float(q @ w @ k)
    if name == "additive":
        wq, wk = score.query_proj.weight, score.key_proj.weight  # (A, Dq), (A, Dk)
        b, v = score.key_proj.bias, score.v.weight[0]  # (A,), (A,)
        return float(v @ torch.tanh(wq @ q + wk @ k + b))
    if name == "cosine":
        return float(q @ k / (q.norm() * k.norm())) / score.temperature
    raise AssertionError(f"no reference formula for score {name!r}: add one to this test")


@pytest.mark.parametrize(
    ("score", "kwargs"),
    [(name, {}) for name in SCORE_NAMES]
    + [("cosine", {"temperature": 0.5}), ("additive", {"hidden_dim": 5})],
)
def test_score_matches_its_formula(score, kwargs):
    torch.manual_seed(0)
    dq = 3
    dk = 4 if score in WIDTH_MIXING else dq
    scorer = make_score(score, dq, dk, **kwargs).double()
    g = torch.Generator().manual_seed(1)
    query = torch.randn(2, 3, dq, generator=g, dtype=torch.float64)
    keys = torch.randn(2, 4, dk, generator=g, dtype=torch.float64)

    got = scorer(query, keys)  # (B, T, S)
    expected = torch.tensor(
        [
            [[_naive_score(scorer, query[b, t], keys[b, s]) for s in range(4)] for t in range(3)]
            for b in range(2)
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("score", SCORE_NAMES)
def test_attention_is_masked_softmax_of_scores_times_values(score):
    torch.manual_seed(0)
    dk = 4 if score in WIDTH_MIXING else 3
    attn = Attention(score, query_dim=3, key_dim=dk).double()
    g = torch.Generator().manual_seed(2)
    query = torch.randn(2, 3, 3, generator=g, dtype=torch.float64)
    keys = torch.randn(2, 4, dk, generator=g, dtype=torch.float64)
    values = torch.randn(2, 4, 5, generator=g, dtype=torch.float64)
    lengths = [4, 2]

    context, weights = attn(
        query,
        keys,
        values,
        mask=torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]]).bool(),
        need_weights=True,
    )
    for b in range(2):
        for t in range(3):
            raw = [_naive_score(attn.score, query[b, t], keys[b, s]) for s in range(lengths[b])]
            exp = [math.exp(x - max(raw)) for x in raw]
            w = torch.tensor([e / sum(exp) for e in exp] + [0.0] * (4 - lengths[b]))
            torch.testing.assert_close(weights[b, t], w.double())
            torch.testing.assert_close(context[b, t], w.double() @ values[b])


# ------------------------------------------------------------------------- module contract
def test_weights_are_none_unless_asked():
    attn = Attention("dot", query_dim=3)
    keys = torch.randn(2, 4, 3)
    context, weights = attn(torch.randn(2, 5, 3), keys)
    assert weights is None
    assert context.shape == (2, 5, 3)  # values default to keys


def test_returned_weights_are_pre_dropout():
    torch.manual_seed(0)
    attn = Attention("scaled_dot", query_dim=4, dropout=0.5).train()
    query, keys, values = torch.randn(2, 3, 4), torch.randn(2, 6, 4), torch.randn(2, 6, 4)
    context, weights = attn(query, keys, values, need_weights=True)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    assert not torch.allclose(context, weights @ values)  # dropout did act on the context
    eval_context, eval_weights = attn.eval()(query, keys, values, need_weights=True)
    torch.testing.assert_close(weights, eval_weights)
    torch.testing.assert_close(eval_context, eval_weights @ values)


def test_attention_accepts_a_score_instance():
    score = make_score("general", 3, 5)
    attn = Attention(score)
    assert attn.score is score
    context, weights = attn(torch.randn(2, 3), torch.randn(2, 4, 5), need_weights=True)
    assert context.shape == (2, 5)
    assert weights.shape == (2, 4)


# -------------------------------------------------------------------------------- errors
def test_unknown_score_name_lists_the_known_names():
    with pytest.raises(KeyError) as info:
        Attention("dott", query_dim=4)
    message = str(info.value)
    assert "'dott'" in message
    assert "did you mean 'dot'" in message
    for name in SCORE_NAMES:
        assert name in message


@pytest.mark.parametrize("score", ["dot", "scaled_dot", "cosine"])
def test_same_width_scores_reject_different_widths_and_suggest_a_fix(score):
    with pytest.raises(ValueError, match=r"3 and 5.*'general' or 'additive'"):
        Attention(score, query_dim=3, key_dim=5)


def test_bad_constructor_arguments_are_value_errors():
    with pytest.raises(ValueError, match="query_dim"):
        Attention("dot")
    with pytest.raises(ValueError, match="temperature"):
        Attention("cosine", query_dim=3, temperature=0.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.long, torch.uint8])
def test_non_bool_mask_is_a_type_error(dtype):
    attn = Attention("dot", query_dim=3)
    with pytest.raises(TypeError, match="bool"):
        attn(torch.randn(2, 3), torch.randn(2, 4, 3), mask=torch.ones(2, 4, dtype=dtype))


@pytest.mark.parametrize(
    "mask_shape",
    [(2, 5), (3, 4), (2, 4, 4), (3, 3, 4), (2, 3, 5), (4,), (2, 1, 3, 4)],
    ids=str,
)
def test_wrong_mask_shape_is_a_value_error_naming_the_shape(mask_shape):
    attn = Attention("dot", query_dim=3)
    query, keys = torch.randn(2, 3, 3), torch.randn(2, 4, 3)
    mask = torch.ones(mask_shape, dtype=torch.bool)
    with pytest.raises(ValueError, match=repr(mask_shape).replace("(", r"\(").replace(")", r"\)")):
        attn(query, keys, mask=mask)


def test_wrong_input_ranks_and_mismatched_keys_values_are_value_errors():
    attn = Attention("dot", query_dim=3)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        attn(torch.randn(3), torch.randn(2, 4, 3))
    with pytest.raises(ValueError, match="share"):
        attn(torch.randn(2, 3), torch.randn(2, 4, 3), torch.randn(2, 5, 3))
