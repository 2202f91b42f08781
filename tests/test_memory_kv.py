"""Contracts of the key-value memory block and its key-hashing pre-selection."""

from __future__ import annotations

import pytest
import torch

from amkit.errors import UserError
from amkit.memory.kv import KeyValueMemory, preselect

B, M, D = 3, 5, 8


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    query = torch.randn(B, D, generator=g)
    keys = torch.randn(B, M, D, generator=g)
    values = torch.randn(B, M, D, generator=g)
    mask = torch.tensor(
        [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 0, 1, 0]], dtype=torch.bool
    )  # (B, M)
    return query, keys, values, mask


def _reference(module: KeyValueMemory, query, keys, values, mask) -> torch.Tensor:
    """The paper's equations written out, one example at a time (with ``hop_keys``, hop j
    addresses the keys through its own A_j)."""
    a = module.key_proj.weight if module.key_proj is not None else torch.eye(D)
    c = module.value_proj.weight if module.value_proj is not None else torch.eye(D)
    extra = [m.weight for m in module.hop_key_projs] if module.hop_key_projs else []
    key_maps = [a] + (extra or [a] * (module.hops - 1))
    out = []
    for b in range(query.shape[0]):
        q = a @ query[b]
        real = mask[b].nonzero().flatten()
        for hop_map, a_j in zip(module.hop_maps, key_maps, strict=True):
            p = torch.softmax(torch.stack([q @ (a_j @ keys[b, i]) for i in real]), dim=0)
            o = sum(p[j] * (c @ values[b, i]) for j, i in enumerate(real))
            q = hop_map.weight @ (q + o)
        out.append(q)
    return torch.stack(out)


def test_weights_sum_to_one_over_real_slots_and_padding_is_exactly_zero():
    torch.manual_seed(0)
    module = KeyValueMemory(D, hops=3)
    query, keys, values, mask = _inputs()
    out, weights = module(query, keys, values, mask, need_weights=True)
    assert out.shape == (B, D) and weights.shape == (B, 3, M)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, 3))
    assert (weights[~mask.unsqueeze(1).expand_as(weights)] == 0).all()
    assert module(query, keys, values, mask)[1] is None


@pytest.mark.parametrize(
    "flags",
    [
        {},
        {"share_proj": False},
        {"key_proj": False, "value_proj": False},
        {"key_proj": False},
    ],
)
def test_one_hop_matches_the_paper_formula(flags):
    torch.manual_seed(0)
    module = KeyValueMemory(D, hops=1, **flags)
    query, keys, values, mask = _inputs()
    out, _ = module(query, keys, values, mask)
    torch.testing.assert_close(out, _reference(module, query, keys, values, mask))


def test_each_hop_has_its_own_r():
    torch.manual_seed(0)
    module = KeyValueMemory(D, hops=2)
    query, keys, values, mask = _inputs()
    out, _ = module(query, keys, values, mask)
    torch.testing.assert_close(out, _reference(module, query, keys, values, mask))
    assert module.hop_maps[0].weight is not module.hop_maps[1].weight
    with torch.no_grad():  # swapping R_1 and R_2 changes the answer: order matters
        w0 = module.hop_maps[0].weight.clone()
        module.hop_maps[0].weight.copy_(module.hop_maps[1].weight)
        module.hop_maps[1].weight.copy_(w0)
    swapped, _ = module(query, keys, values, mask)
    assert not torch.allclose(out, swapped)


def test_combine_replaces_the_sum_and_linear_drops_the_softmax():
    """``combine(j, q, o)`` joins hop ``j``'s read in place of ``q + o``; ``linear`` reads
    with the raw scores (MemN2N's linear start), 0 on masked slots."""
    torch.manual_seed(0)
    module = KeyValueMemory(D, hops=2)
    query, keys, values, mask = _inputs()
    calls = []

    def add(j, q, o):
        calls.append(j)
        return q + o

    torch.testing.assert_close(
        module(query, keys, values, mask, combine=add)[0], module(query, keys, values, mask)[0]
    )
    assert calls == [0, 1]
    only_query, _ = module(query, keys, values, mask, combine=lambda j, q, o: q)
    q = module.key_proj(query)
    torch.testing.assert_close(only_query, module.hop_maps[1](module.hop_maps[0](q)))
    _, raw = module(query, keys, values, mask, need_weights=True, linear=True)
    scores = torch.einsum("bmd,bd->bm", module.key_proj(keys), q)  # first hop's scores
    torch.testing.assert_close(raw[:, 0], scores.masked_fill(~mask, 0.0))


def test_per_hop_key_maps_match_the_formula_and_reduce_to_one_map():
    """``hop_keys``: hop j addresses the keys through its own A_j (checked against the
    equations); with every A_j set to A it is the shared block, and it needs key_proj."""
    torch.manual_seed(0)
    module = KeyValueMemory(D, hops=3, hop_keys=True)
    assert len(module.hop_key_projs) == 2
    query, keys, values, mask = _inputs()
    out, weights = module(query, keys, values, mask, need_weights=True)
    torch.testing.assert_close(out, _reference(module, query, keys, values, mask))
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, 3))
    shared = KeyValueMemory(D, hops=3)
    shared.load_state_dict(
        {k: v for k, v in module.state_dict().items() if not k.startswith("hop_key_projs")}
    )
    assert not torch.allclose(out, shared(query, keys, values, mask)[0])
    with torch.no_grad():
        for extra in module.hop_key_projs:
            extra.weight.copy_(module.key_proj.weight)
    torch.testing.assert_close(module(query, keys, values, mask)[0],
                               shared(query, keys, values, mask)[0])  # fmt: skip
    with pytest.raises(UserError, match="hop_keys needs key_proj"):
        KeyValueMemory(D, hops=2, key_proj=False, hop_keys=True)


def test_shared_projection_is_one_matrix():
    shared = KeyValueMemory(D, hops=2)
    separate = KeyValueMemory(D, hops=2, share_proj=False)
    assert shared.value_proj is shared.key_proj
    assert len(list(shared.parameters())) == 1 + 2
    assert len(list(separate.parameters())) == 2 + 2


@pytest.mark.parametrize("flags", [{}, {"share_proj": False}, {"value_proj": False}])
def test_gradients_reach_every_parameter(flags, attn_assert_grads_reach_every_parameter):
    torch.manual_seed(0)
    module = KeyValueMemory(D, hops=2, **flags)
    query, keys, values, mask = _inputs()
    out, weights = module(query, keys, values, mask, need_weights=True)
    (out.square().sum() + weights.square().sum()).backward()
    attn_assert_grads_reach_every_parameter(module)


def test_fully_masked_rows_give_zero_weights_and_finite_gradients():
    torch.manual_seed(0)
    module = KeyValueMemory(D, hops=2)
    query, keys, values, mask = _inputs()
    mask[1] = False
    query.requires_grad_(True)
    keys.requires_grad_(True)
    out, weights = module(query, keys, values, mask, need_weights=True)
    assert torch.isfinite(out).all()
    assert (weights[1] == 0).all()
    # nothing read: q_{j+1} = R_j q_j
    expected = module.key_proj(query[1])
    for hop_map in module.hop_maps:
        expected = hop_map(expected)
    torch.testing.assert_close(out[1], expected)
    out.sum().backward()
    assert torch.isfinite(query.grad).all() and torch.isfinite(keys.grad).all()
    assert (keys.grad[1] == 0).all()


def test_preselect_keeps_slots_sharing_a_non_stopword_token():
    query_tokens = torch.tensor([[5, 7, 2, 0], [9, 0, 0, 0]])  # (B, Lq); 2 is a stopword
    key_tokens = torch.tensor(
        [
            [[5, 1, 0], [2, 3, 0], [8, 7, 7], [0, 0, 0], [4, 4, 4]],
            [[1, 2, 3], [9, 0, 0], [0, 0, 0], [2, 9, 0], [5, 7, 0]],
        ]
    )  # (B, M, Lk)
    allowed = preselect(query_tokens, key_tokens, stopwords=[2])
    expected = torch.tensor([[True, False, True, False, False], [False, True, False, True, False]])
    assert torch.equal(allowed, expected)
    # padding 0 never matches, even when the question is padded
    assert not preselect(torch.tensor([[0, 0]]), torch.tensor([[[0, 0]]])).any()
    # without stopwords, token 2 matches
    assert preselect(query_tokens, key_tokens)[0, 1]
    # a key padding mask is combined in
    key_mask = torch.ones(2, 5, dtype=torch.bool)
    key_mask[0, 0] = False
    assert not preselect(query_tokens, key_tokens, stopwords=torch.tensor([2]), key_mask=key_mask)[
        0, 0
    ]


def test_preselect_mask_zeroes_the_filtered_slots_in_the_memory():
    torch.manual_seed(0)
    query_tokens = torch.tensor([[3, 4], [6, 0], [1, 1]])  # row 2 matches nothing
    key_tokens = torch.randint(5, 9, (B, M, 2))
    key_tokens[0, 2] = torch.tensor([4, 0])
    allowed = preselect(query_tokens, key_tokens)
    module = KeyValueMemory(D)
    query, keys, values, _ = _inputs()
    out, weights = module(query, keys, values, allowed, need_weights=True)
    assert (weights[~allowed.unsqueeze(1).expand_as(weights)] == 0).all()
    assert weights[0, :, 2].gt(0).all()
    assert (weights[2] == 0).all() and torch.isfinite(out).all()


def test_errors_name_the_argument_and_shapes():
    module = KeyValueMemory(D)
    query, keys, values, mask = _inputs()
    with pytest.raises(ValueError, match=r"values must have the keys' shape .*\(3, 5, 8\)"):
        module(query, keys, values[:, :, :4])
    with pytest.raises(ValueError, match=r"query must be \(B, D\) with D = dim = 8"):
        module(query[:, :3], keys, values)
    with pytest.raises(TypeError, match="mask must be bool"):
        module(query, keys, values, mask.long())
    with pytest.raises(ValueError, match="hops must be >= 1"):
        KeyValueMemory(D, hops=0)
    with pytest.raises(TypeError, match="key_tokens must hold integer token ids"):
        preselect(torch.tensor([[1]]), torch.ones(1, 2, 2))
