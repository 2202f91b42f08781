"""The SAGAN and non-local blocks against their papers' equations, written out with loops.

Legend: B batch, C channels, H/W height/width, N = H * W positions.
"""

from __future__ import annotations

import math

import pytest
import torch

from amkit.attention import NonLocalBlock, SelfAttention2d

B, C, H, W = 2, 16, 3, 4
N = H * W


def _x(seed: int = 0) -> torch.Tensor:
    return torch.randn(B, C, H, W, generator=torch.Generator().manual_seed(seed))


def _conv1x1(conv: torch.nn.Conv2d, column: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution at one position: ``W x (+ b)``, column ``(C_in,)``."""
    out = conv.weight[:, :, 0, 0] @ column
    return out + conv.bias if conv.bias is not None else out


def sagan_naive(block: SelfAttention2d, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Zhang et al. 2019, section 3, one position at a time."""
    y, beta = torch.zeros_like(x), torch.zeros(B, N, N)
    for b in range(B):
        cols = [x[b, :, p // W, p % W] for p in range(N)]  # x_i, position p = r * W + c
        f = [_conv1x1(block.f, c) for c in cols]
        g = [_conv1x1(block.g, c) for c in cols]
        h = [_conv1x1(block.h, c) for c in cols]
        for j in range(N):
            s = [float(f[i] @ g[j]) for i in range(N)]  # s_ij = f(x_i)^T g(x_j)
            total = sum(math.exp(v) for v in s)
            for i in range(N):
                beta[b, j, i] = math.exp(s[i]) / total
            read = sum(beta[b, j, i] * h[i] for i in range(N))
            o = _conv1x1(block.v, read)
            y[b, :, j // W, j % W] = block.gamma * o + cols[j]
    return y, beta


def nonlocal_naive(block: NonLocalBlock, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Wang et al. 2018, embedded Gaussian (eq. 1-3, 6), BN in eval mode."""
    z, weights = torch.zeros_like(x), torch.zeros(B, N, N)
    bn = block.bn
    for b in range(B):
        cols = [x[b, :, p // W, p % W] for p in range(N)]
        theta = [_conv1x1(block.theta, c) for c in cols]
        phi = [_conv1x1(block.phi, c) for c in cols]
        g = [_conv1x1(block.g, c) for c in cols]
        for i in range(N):
            f = [math.exp(float(theta[i] @ phi[j])) for j in range(N)]
            norm = sum(f)  # C(x)
            for j in range(N):
                weights[b, i, j] = f[j] / norm
            y_i = sum(f[j] / norm * g[j] for j in range(N))
            w = _conv1x1(block.w_z, y_i)
            w = (w - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
            z[b, :, i // W, i % W] = w + cols[i]
    return z, weights


def _sagan(gamma: float = 0.7) -> SelfAttention2d:
    torch.manual_seed(0)
    block = SelfAttention2d(C)
    with torch.no_grad():
        block.gamma.fill_(gamma)  # 0 at init: open the gate so o counts
    return block


def _nonlocal() -> NonLocalBlock:
    torch.manual_seed(0)
    block = NonLocalBlock(C).eval()
    with torch.no_grad():  # BN scale is 0 at init; give it (and its statistics) values
        block.bn.weight.uniform_(0.5, 1.5)
        block.bn.bias.uniform_(-0.5, 0.5)
        block.bn.running_mean.uniform_(-0.2, 0.2)
        block.bn.running_var.uniform_(0.5, 2.0)
    return block


@pytest.mark.parametrize(("make", "naive"), [(_sagan, sagan_naive), (_nonlocal, nonlocal_naive)])
def test_blocks_equal_the_papers_equations(make, naive):
    block, x = make(), _x()
    with torch.no_grad():
        expected_out, expected_weights = naive(block, x)
        out, weights = block(x, need_weights=True)
        fast, none = block(x)
    assert none is None and weights.shape == (B, N, N)
    torch.testing.assert_close(weights, expected_weights, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out, expected_out, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(fast, out, atol=1e-5, rtol=1e-4)  # fused == explicit path
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, N))


@pytest.mark.parametrize("make", [SelfAttention2d, NonLocalBlock])
def test_blocks_are_the_identity_at_init(make):
    block, x = make(C), _x(1)
    out, weights = block.train()(x, need_weights=True)
    torch.testing.assert_close(out, x)
    assert torch.all(weights >= 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, N))


@pytest.mark.parametrize("make", [_sagan, _nonlocal])
def test_gradients_reach_every_parameter(make):
    block = make().train()  # the gates opened, so every path carries gradient
    x = _x(2).requires_grad_(True)
    out, weights = block(x, need_weights=True)
    (out.square().sum() + weights.square().sum()).backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


def test_nonlocal_subsampling_pools_the_keys():
    block = NonLocalBlock(C, subsample=True).eval()
    out, weights = block(_x(), need_weights=True)
    assert out.shape == (B, C, H, W) and weights.shape == (B, N, 2 * 2)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, N))


def test_channels_are_checked():
    with pytest.raises(ValueError, match="channels must be >= 1"):
        SelfAttention2d(0)
