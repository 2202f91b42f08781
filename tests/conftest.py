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


def _write_sentiment_csv(path, n=200, seed=0):
    """A generated two-class corpus: the label is decided by one cue word among fillers."""
    g = torch.Generator().manual_seed(seed)
    fillers = ["the", "film", "plot", "actor", "scene", "was", "a", "and", "it", "story"]
    cues = {"pos": ["great", "superb", "wonderful"], "neg": ["awful", "boring", "terrible"]}
    lines = ["text,label"]
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = [fillers[j] for j in torch.randint(0, len(fillers), (12,), generator=g).tolist()]
        cue = cues[label][int(torch.randint(0, 3, (1,), generator=g))]
        words.insert(int(torch.randint(0, 12, (1,), generator=g)), cue)
        lines.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sentiment_csv() -> Callable[..., object]:
    """``sentiment_csv(path, n=200, seed=0)`` writes a generated two-class CSV and returns path."""
    return _write_sentiment_csv
