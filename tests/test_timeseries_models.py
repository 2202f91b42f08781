"""Forecasters against naive references: PatchTST's patching and attention, DLinear's moving
average, RLinear's normalisation, the baselines' formulas, and the memory forecaster's
retrieval (an exhaustive scan, overlapping windows left out)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.timeseries import (
    DLinear,
    DLinearConfig,
    LastValue,
    LastValueConfig,
    MemoryForecaster,
    MemoryForecasterConfig,
    PatchTST,
    PatchTSTConfig,
    RLinear,
    RLinearConfig,
    SeasonalNaive,
    SeasonalNaiveConfig,
    make_patches,
    memory_windows,
    moving_average,
)

L, H, C, B = 32, 8, 3, 4


def info(train_rows: int = 120, seed: int = 0) -> DataInfo:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(train_rows).float()
    series = torch.stack([torch.sin(t / 3), torch.cos(t / 5), t / 50], 1)
    series = series + 0.05 * torch.randn(train_rows, C, generator=g)
    return DataInfo(task="forecasting", n_classes=C, n_channels=C, lookback=L, horizon=H,
                    train_rows=train_rows, train_series=series)  # fmt: skip


def windows(seed: int = 1) -> torch.Tensor:
    return torch.randn(B, L, C, generator=torch.Generator().manual_seed(seed))


def test_patches_equal_a_naive_loop_with_end_padding():
    x = torch.randn(5, 30)
    patch_len, stride = 8, 4
    got = make_patches(x, patch_len, stride)
    padded = torch.cat([x, x[:, -1:].repeat(1, stride)], 1)
    starts = range(0, padded.shape[1] - patch_len + 1, stride)
    naive = torch.stack([padded[:, s : s + patch_len] for s in starts], 1)
    torch.testing.assert_close(got, naive)
    assert got.shape[1] == (30 - patch_len) // stride + 2  # the paper's P for L = 336: 42


def test_patchtst_shapes_attention_rows_and_a_gradient_everywhere():
    torch.manual_seed(0)
    model = PatchTST(PatchTSTConfig(d_model=8, n_heads=2, d_ff=16, n_layers=2), info())
    x, y = windows(), torch.randn(B, H, C)
    out = model(x, targets=y, need_weights=True)
    p = (L - 16) // 8 + 2
    assert out.forecast.shape == (B, H, C) and out.patches.shape == (B * C, 2, 2, p, p)
    torch.testing.assert_close(out.patches.sum(-1), torch.ones(B * C, 2, 2, p))
    torch.testing.assert_close(out.loss, F.mse_loss(out.forecast, y))
    out.loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    model.eval()  # the fused path (no weights) gives the same forecast
    torch.testing.assert_close(model(x).forecast, model(x, need_weights=True).forecast)


def test_patchtst_channels_are_independent_and_revin_undoes_scale():
    torch.manual_seed(0)
    model = PatchTST(PatchTSTConfig(d_model=8, n_heads=2, d_ff=16, n_layers=1), info()).eval()
    x = windows()
    changed = x.clone()
    changed[:, :, 1] += torch.randn(B, L)  # another channel's input must not matter
    torch.testing.assert_close(model(x).forecast[:, :, 0], model(changed).forecast[:, :, 0])
    # RevIN: shifting and scaling a window shifts and scales its forecast
    torch.testing.assert_close(model(3 * x + 2).forecast, 3 * model(x).forecast + 2,
                               atol=1e-4, rtol=1e-4)  # fmt: skip


def test_moving_average_equals_a_naive_reference():
    x = torch.randn(2, 20, 3)
    kernel, pad = 5, 2
    padded = torch.cat([x[:, :1].repeat(1, pad, 1), x, x[:, -1:].repeat(1, pad, 1)], 1)
    naive = torch.stack([padded[:, t : t + kernel].mean(1) for t in range(20)], 1)
    torch.testing.assert_close(moving_average(x, kernel), naive)


def test_dlinear_is_two_linear_maps_of_the_decomposition():
    torch.manual_seed(0)
    model = DLinear(DLinearConfig(kernel=5), info())
    x = windows()
    trend = moving_average(x, 5)
    s, t = model.seasonal[0], model.trend[0]
    expected = torch.einsum("blc,hl->bhc", x - trend, s.weight) + s.bias[:, None]
    expected = expected + torch.einsum("blc,hl->bhc", trend, t.weight) + t.bias[:, None]
    torch.testing.assert_close(model(x).forecast, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(UserError, match="kernel .4. must be odd"):
        DLinear(DLinearConfig(kernel=4), info())


def test_rlinear_is_one_linear_map_between_revin_and_its_inverse():
    torch.manual_seed(0)
    model = RLinear(RLinearConfig(), info()).eval()  # eval: no dropout
    with torch.no_grad():
        model.scale.copy_(torch.tensor([0.5, 2.0, 1.5]))
        model.shift.copy_(torch.tensor([0.3, -1.0, 0.0]))
    x = windows()
    mean = x.mean(1, keepdim=True)
    std = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + 1e-5)
    normed = (x - mean) / std * model.scale + model.shift
    layer = model.linear[0]
    out = torch.einsum("blc,hl->bhc", normed, layer.weight) + layer.bias[:, None]
    expected = (out - model.shift) / (model.scale + 1e-10) * std + mean
    torch.testing.assert_close(model(x).forecast, expected, atol=1e-5, rtol=1e-5)
    # RevIN makes it equivariant to each channel's scale and offset
    a, b = torch.tensor([3.0, 0.5, 2.0]), torch.tensor([10.0, -4.0, 1.0])
    torch.testing.assert_close(model(x * a + b).forecast, model(x).forecast * a + b,
                               atol=1e-4, rtol=1e-4)  # fmt: skip
    plain = RLinear(RLinearConfig(revin=False, dropout=0.0), info())
    assert plain.scale is None and len(list(plain.parameters())) == 2
    layer = plain.linear[0]
    expected = torch.einsum("blc,hl->bhc", x, layer.weight) + layer.bias[:, None]
    torch.testing.assert_close(plain(x).forecast, expected, atol=1e-5, rtol=1e-5)
    own = RLinear(RLinearConfig(individual=True), info()).eval()
    assert len(own.linear) == C and own(x).forecast.shape == (B, H, C)


def test_baselines_follow_their_formulas():
    x = windows()
    last = LastValue(LastValueConfig(), info())(x).forecast
    torch.testing.assert_close(last, x[:, -1:].expand(B, H, C))
    naive = SeasonalNaive(SeasonalNaiveConfig(period=5), info())(x).forecast
    for t in range(H):
        torch.testing.assert_close(naive[:, t], x[:, L - 5 + t % 5])
    with pytest.raises(UserError, match=r"model.period \(40\) must be <= data.lookback \(32\)"):
        SeasonalNaive(SeasonalNaiveConfig(period=40), info())


def _memory(**kw) -> MemoryForecaster:
    torch.manual_seed(0)
    return MemoryForecaster(MemoryForecasterConfig(base="dlinear", k=4, key_length=16, **kw),
                            info())  # fmt: skip


def test_memory_windows_hold_normalised_keys_and_continuations():
    series = info().train_series
    keys, values, starts = memory_windows(series, L, H, key_length=16)
    assert len(starts) == 120 - L - H + 1
    i = 7
    window = series[i : i + L]
    mean, std = window.mean(0), torch.sqrt(window.var(0, unbiased=False) + 1e-5)
    torch.testing.assert_close(keys[i], ((window - mean) / std)[-16:].reshape(-1))
    torch.testing.assert_close(values[i], ((series[i + L : i + L + H] - mean) / std).reshape(-1))


def _exhaustive(model: MemoryForecaster, query: torch.Tensor, start=None):
    """Cosine of every memory key, overlapping windows removed, the top k."""
    scores = F.normalize(query, dim=1) @ F.normalize(model.memory_keys, dim=1).T  # (Q, N)
    if start is not None:
        span = L + H
        overlap = (model.memory_starts[None] - start[:, None]).abs() < span
        scores = scores.masked_fill(overlap, float("-inf"))
    return scores.topk(model.config.k, dim=1)


def test_retrieval_equals_an_exhaustive_scan_and_skips_overlapping_windows():
    model = _memory()
    keys = model.memory_keys
    query = keys[[3, 20, 50]] + 0.01 * torch.randn(3, keys.shape[1])
    rows, similarity, values = model.retrieve(query)
    best, naive_rows = _exhaustive(model, query)
    torch.testing.assert_close(similarity, best, atol=1e-5, rtol=1e-5)
    assert torch.equal(rows, naive_rows)
    torch.testing.assert_close(values, model.memory_values[naive_rows])
    # while training, a window's own neighbourhood in time is never read
    start = model.memory_starts[[3, 20, 50]]
    rows, similarity, values = model.retrieve(query, start)
    best, naive_rows = _exhaustive(model, query, start)
    assert torch.equal(rows, naive_rows)
    torch.testing.assert_close(similarity, best, atol=1e-5, rtol=1e-5)
    assert ((model.memory_starts[rows] - start[:, None]).abs() >= L + H).all()
    torch.testing.assert_close(values, model.memory_values[naive_rows])


def test_memory_forecaster_weights_gate_and_the_retrieval_switch():
    model = _memory().eval()
    x = windows()
    out = model(x, need_weights=True)
    assert out.memory.shape == (B, 4) and out.retrieved.shape == (B, 4)
    torch.testing.assert_close(out.memory.sum(1), torch.ones(B))
    assert ((out.gate > 0) & (out.gate < 1)).all()
    off = _memory(retrieval=False).eval()
    torch.testing.assert_close(off(x).forecast, off.base(x).forecast)
    assert not torch.allclose(out.forecast, off(x).forecast)  # the memory changes it
    # the same forecast from the FAISS store (flat: exact)
    pytest.importorskip("faiss")
    faiss_model = _memory(backend="faiss").eval()
    faiss_model.load_state_dict(model.state_dict())
    torch.testing.assert_close(faiss_model(x).forecast, out.forecast, atol=1e-5, rtol=1e-5)


def test_memory_forecaster_rebuilds_from_its_weights_without_the_data():
    model = _memory().eval()
    loaded = MemoryForecaster(model.config, DataInfo(**{**info().__dict__, "train_series": None}))
    loaded.load_state_dict(model.state_dict())
    x = windows()
    torch.testing.assert_close(loaded.eval()(x).forecast, model(x).forecast)
    np.testing.assert_array_equal(loaded.memory_starts.numpy(), model.memory_starts.numpy())
