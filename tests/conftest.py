"""Shared test helpers. Fixtures for the attention suite are prefixed ``attn_``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

# A key-projection bias adds the same q . b_k to every score of a query row, and softmax is
# shift-invariant, so its gradient is exactly 0 in exact arithmetic (float noise in practice).
# It is still checked to be present and finite, and to be ~0.
_SHIFT_INVARIANT_PARAMS = ("k_proj.bias",)


def _assert_grads_reach_every_parameter(module: nn.Module) -> None:
    """Every parameter has a finite gradient that is not all zero (see the exemption above)."""
    for name, param in module.named_parameters():
        assert param.grad is not None, f"no gradient reached {name}"
        assert torch.isfinite(param.grad).all(), f"non-finite gradient in {name}"
        if name.endswith(_SHIFT_INVARIANT_PARAMS):
            torch.testing.assert_close(
                param.grad, torch.zeros_like(param.grad), atol=1e-5, rtol=0, msg=name
            )
        else:
            assert param.grad.abs().sum() > 0, f"gradient of {name} is all zero"


@pytest.fixture
def attn_assert_grads_reach_every_parameter() -> Callable[[nn.Module], None]:
    """``check(module)`` after ``loss.backward()``: every parameter got a real gradient."""
    return _assert_grads_reach_every_parameter
