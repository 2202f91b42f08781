"""A forecaster that remembers how similar windows of the past continued.

Every training window goes into an amkit :class:`~amkit.memory.store.MemoryStore`: its key
is the window instance-normalised (each channel by its own mean and std over the lookback)
and cut to its last ``key_length`` steps, all channels side by side; its value is what
followed -- the next ``horizon`` rows, normalised by the same window statistics. For an
input window the ``k`` keys most similar to its own (cosine) are read; the model attends
over their continuations (``softmax(temperature * similarity)``, the temperature learned)
and mixes the result with a base forecaster's (PatchTST, DLinear or RLinear) through a
learned gate per step and channel that also sees how similar the best match was::

    gate = sigmoid(bias[h, c] + slope[h, c] * best_similarity)
    forecast = gate * base + (1 - gate) * sum_j weight_j * continuation_j   (normalised)

De-normalised with the input window's statistics. While training, windows that overlap the
query in time (their rows and the query's, lookback and horizon, intersect) are never read:
the query's own future would leak otherwise. ``retrieval: false`` is the base forecaster
alone, to measure what the memory adds.

The keys, values and window starts are buffers of the model (saved in
``model.safetensors``), so a run forecasts without its data; the store is rebuilt from them
on first use (exact, or FAISS ``flat`` with ``backend: faiss``). Training reads go through
a twin index of the same keys whose values are the rows (see :attr:`search_index`).

Legend: B batch, L lookback, H horizon, C channels, k retrieved windows, N memory windows,
Dk key width (``key_length * C``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.memory.store import MemoryStore, make_store
from amkit.models.base import register_model
from amkit.models.timeseries.common import (
    ForecastOutput,
    check_forecasting,
    forecast_output,
    instance_norm,
)
from amkit.models.timeseries.dlinear import DLinear, DLinearConfig
from amkit.models.timeseries.patchtst import PatchTST, PatchTSTConfig
from amkit.models.timeseries.rlinear import RLinear, RLinearConfig

__all__ = ["MemoryForecaster", "MemoryForecasterConfig", "memory_windows"]


@dataclass
class MemoryForecasterConfig:
    """Retrieval settings; the base forecaster keeps its paper defaults."""

    base: Literal["patchtst", "dlinear", "rlinear"] = "patchtst"
    retrieval: bool = True  # false: the base alone (the ablation)
    k: int = option(10, ge=1)  # windows read per query
    key_length: int = option(96, ge=1)  # the window's last steps that make its key
    stride: int = option(1, ge=1)  # every stride-th training window is remembered
    backend: Literal["exact", "faiss"] = "exact"
    temperature: float = option(10.0, gt=0)  # initial sharpness of the attention over windows


def memory_windows(
    series: Tensor, lookback: int, horizon: int, key_length: int, stride: int = 1
) -> tuple[Tensor, Tensor, Tensor]:
    """Keys, values and starts of the windows of ``series (T, C)``.

    Returns:
        ``keys (N, key_length * C)``: the last ``key_length`` steps of each window,
        instance-normalised over its whole lookback, flattened time-major;
        ``values (N, H * C)``: the following ``horizon`` rows, normalised by the same
        statistics; ``starts (N,)``: each window's first row.
    """
    starts = torch.arange(0, len(series) - lookback - horizon + 1, stride)
    steps = torch.arange(lookback + horizon)
    window = series[starts.unsqueeze(1) + steps]  # (N, L + H, C)
    normed, mean, std = instance_norm(window[:, :lookback])
    keys = normed[:, -key_length:].reshape(len(starts), -1)
    values = ((window[:, lookback:] - mean) / std).reshape(len(starts), -1)
    return keys, values, starts


@register_model("memory_forecaster", config=MemoryForecasterConfig)
class MemoryForecaster(nn.Module):
    """``forward(x (B, L, C), targets=None, start=None, need_weights=False)``; ``start``
    (``(B,)`` the windows' first rows, given by the dataset) excludes overlapping windows
    while training."""

    def __init__(self, config: MemoryForecasterConfig, info: DataInfo):
        super().__init__()
        self.config = config
        lookback, horizon, channels = check_forecasting(info, "memory_forecaster")
        if config.key_length > lookback:
            raise UserError(
                f"model.key_length ({config.key_length}) must be <= data.lookback ({lookback})"
            )
        self.lookback, self.horizon, self.channels = lookback, horizon, channels
        bases = {"patchtst": lambda: PatchTST(PatchTSTConfig(), info),
                 "dlinear": lambda: DLinear(DLinearConfig(), info),
                 "rlinear": lambda: RLinear(RLinearConfig(), info)}  # fmt: skip
        self.base = bases[config.base]()
        self.log_temperature = nn.Parameter(torch.tensor(math.log(config.temperature)))
        self.gate_bias = nn.Parameter(torch.zeros(horizon, channels))
        self.gate_slope = nn.Parameter(torch.zeros(horizon, channels))
        if info.train_series is not None:
            keys, values, starts = memory_windows(
                info.train_series.float(), lookback, horizon, config.key_length, config.stride
            )
        else:  # loaded from a run directory: the buffers come with the weights
            n = len(range(0, int(info.train_rows) - lookback - horizon + 1, config.stride))
            keys = torch.zeros(n, config.key_length * channels)
            values, starts = torch.zeros(n, horizon * channels), torch.zeros(n, dtype=torch.long)
        if config.retrieval and len(starts) < config.k:
            raise UserError(f"model.k ({config.k}) is more than the {len(starts)} training windows")
        self.register_buffer("memory_keys", keys)  # (N, Dk)
        self.register_buffer("memory_values", values)  # (N, H * C)
        self.register_buffer("memory_starts", starts)  # (N,)
        self._store: MemoryStore | None = None
        self._index: MemoryStore | None = None
        self.register_load_state_dict_post_hook(lambda module, _: module.forget_store())

    def forget_store(self) -> None:
        """Rebuild the store from the buffers at the next read (after new weights)."""
        self._store = self._index = None

    def _make_store(self, values: Tensor) -> MemoryStore:
        store = make_store(
            self.config.backend, self.memory_keys.shape[1], values.shape[1], metric="cosine"
        )
        store.write(self.memory_keys.cpu(), values)  # ids 0..N-1: the buffers' rows
        return store

    @property
    def store(self) -> MemoryStore:
        """The memory store of the training windows: keys and continuations (ids = rows of
        the buffers)."""
        if self._store is None:
            self._store = self._make_store(self.memory_values.cpu())
        return self._store

    @property
    def search_index(self) -> MemoryStore:
        """The same keys with each window's row as its value: a training read skips the
        windows that overlap its query, so it reads past them, and gathering their
        continuations (H * C values each) only to drop them would cost ten times the search."""
        if self._index is None:
            # the stores live on the CPU (host-side indexes): their reads are moved to x's device
            rows = torch.arange(len(self.memory_keys), dtype=torch.float32, device="cpu")
            rows = rows.unsqueeze(1)
            self._index = self._make_store(rows)
        return self._index

    def retrieve(self, query: Tensor, start: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """The ``k`` most similar memory windows of each query.

        Args:
            query: ``(B, Dk)`` keys of the input windows (as :func:`memory_windows`).
            start: ``(B,)`` the input windows' first rows: memory windows whose rows overlap
                the query's (``|s - start| < L + H``) are skipped. ``None``: none skipped.

        Returns:
            ``(rows (B, k), similarity (B, k), values (B, k, H * C))``; rows are -1 (and
            similarity -inf) where fewer than k were found.
        """
        k, span = self.config.k, self.lookback + self.horizon
        query = query.detach().float().cpu()
        if start is None:
            values, scores, ids = self.store.read(query, k)
            return ids, scores, values
        # overlapping windows can fill the top: read past them
        extra = min(len(self.search_index), k + math.ceil((2 * span - 1) / self.config.stride))
        _, scores, ids = self.search_index.read(query, extra)  # (B, extra) each
        starts = self.memory_starts.cpu()[ids.clamp(min=0)]
        keep = ((starts - start.cpu()[:, None]).abs() >= span) & (ids >= 0)
        # the first k kept per row, best first (a stable sort keeps the score order)
        order = torch.sort((~keep).int(), dim=1, stable=True).indices[:, :k]
        kept = keep.gather(1, order)
        rows = ids.gather(1, order).masked_fill(~kept, -1)
        scores = scores.gather(1, order).masked_fill(~kept, float("-inf"))
        values = self.memory_values.cpu()[rows.clamp(min=0)] * kept.unsqueeze(-1)
        return rows, scores, values

    def forward(self, x: Tensor, targets: Tensor | None = None, start: Tensor | None = None,
                need_weights: bool = False) -> ForecastOutput:  # fmt: skip
        base = self.base(x, need_weights=need_weights)
        if not self.config.retrieval:
            return forecast_output(base.forecast, targets, patches=base.patches)
        B, L, C = x.shape
        normed, mean, std = instance_norm(x)
        query = normed[:, -self.config.key_length :].reshape(B, -1)  # (B, Dk)
        rows, similarity, values = self.retrieve(query, start if self.training else None)
        rows, similarity = rows.to(x.device), similarity.to(x.device)
        values = values.to(x.device).view(B, -1, self.horizon, C)  # (B, k, H, C)
        found = rows >= 0
        scores = (self.log_temperature.exp() * similarity).masked_fill(~found, float("-inf"))
        weights = torch.softmax(scores, dim=1).nan_to_num(0.0)  # (B, k); none found: zeros
        recalled = torch.einsum("bk,bkhc->bhc", weights, values)  # (B, H, C)
        best = similarity[:, :1].clamp(min=-1.0).unsqueeze(-1)  # (B, 1, 1)
        gate = torch.sigmoid(self.gate_bias + self.gate_slope * best)  # (B, H, C)
        gate = torch.where(found.any(1).view(B, 1, 1), gate, torch.ones_like(gate))
        mixed = gate * (base.forecast - mean) / std + (1 - gate) * recalled
        forecast = mixed * std + mean
        extra = {}
        if need_weights:
            starts = self.memory_starts[rows.clamp(min=0)].masked_fill(~found, -1)
            extra = {"memory": weights, "retrieved": starts, "gate": gate}
        return forecast_output(forecast, targets, patches=base.patches, **extra)
