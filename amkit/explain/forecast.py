"""Forecast views: the history and the forecast per channel, PatchTST's attention over
patches, and the memory forecaster's retrieved windows with their weights.

``amkit forecast RUN --plot FILE.png`` draws :func:`save_forecast_plot`; ``amkit explain
RUN --example N`` of any forecasting run draws the example's forecast against the truth
and, as the model gives them, the attention over patches (last layer, mean over heads, the
target channel) and the retrieved continuations beside the forecast.

Legend: L lookback, H horizon, C channels, P patches, k retrieved windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from amkit.errors import UserError  # noqa: E402
from amkit.experiments.forecast import Forecast  # noqa: E402
from amkit.experiments.run import load_run  # noqa: E402
from amkit.explain.heatmap import save_heatmap  # noqa: E402
from amkit.explain.registry import ExplainRequest, register_explainer  # noqa: E402
from amkit.io import atomic_save_figure  # noqa: E402

__all__ = ["WindowView", "explain_forecast_run", "forecast_window", "save_forecast_plot"]

MAX_PANELS = 8


def save_forecast_plot(forecast: Forecast, path: str | Path) -> Path:
    """One panel per channel (the first ``MAX_PANELS``): the history read and the forecast
    after it, x = steps from the forecast's start."""
    columns = forecast.columns[:MAX_PANELS]
    fig, axes = plt.subplots(len(columns), 1, figsize=(8, 1.8 * len(columns) + 0.6),
                             squeeze=False, sharex=True)  # fmt: skip
    past = np.arange(-len(forecast.history), 0)
    ahead = np.arange(len(forecast.values))
    for i, (ax, name) in enumerate(zip(axes[:, 0], columns, strict=True)):
        ax.plot(past, forecast.history[:, i], color="0.3", lw=1, label="history")
        ax.plot(ahead, forecast.values[:, i], color="tab:red", lw=1.5, label="forecast")
        ax.axvline(-0.5, color="0.7", lw=0.8, ls="--")
        ax.set_ylabel(name)
    axes[0, 0].legend(loc="upper left", fontsize=8)
    axes[0, 0].set_title(f"forecast from {forecast.dates[0]} ({len(ahead)} steps)")
    axes[-1, 0].set_xlabel("steps from the forecast's start")
    fig.tight_layout()
    return atomic_save_figure(fig, path)


def _series_plot(history, truth, forecast, channel: str, title: str, recalled=None, path=None):
    """History, truth and forecast of one channel; ``recalled``: ``[(weight, (H,)), ...]``."""
    fig, ax = plt.subplots(figsize=(9, 3.4))
    past, ahead = np.arange(-len(history), 0), np.arange(len(forecast))
    ax.plot(past, history, color="0.3", lw=1, label="history")
    ax.plot(ahead, truth, color="black", lw=1, ls=":", label="truth")
    for j, (weight, values) in enumerate(recalled or []):
        ax.plot(ahead, values, color="tab:blue", lw=0.5 + 3 * weight, alpha=0.25 + 0.75 * weight,
                label=f"retrieved {j + 1}: weight {weight:.2f}")  # fmt: skip
    ax.plot(ahead, forecast, color="tab:red", lw=1.5, label="forecast")
    ax.set_title(title)
    ax.set_xlabel("steps from the forecast's start")
    ax.set_ylabel(f"{channel} (scaled)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)
    fig.tight_layout()
    return atomic_save_figure(fig, path)


@dataclass
class WindowView:
    """One window's forecast of the target channel, as the explainer and ``amkit serve`` show
    it (values on the scaled axis the model works on).

    Attributes:
        channel: the channel shown (the data's target, else the first).
        start: the window's first series row (0-based).
        history: ``(L,)`` values read; truth, forecast: ``(H,)``.
        error: MSE over all channels of the window.
        recalled: ``[(weight, first row, (H,) continuation)]`` (memory forecaster) or [].
        gate: the share of the base forecast, mean over steps (memory forecaster) or None.
        patches: ``(P, P)`` last layer's attention over patches, mean of heads, or None.
    """

    channel: str
    start: int
    history: np.ndarray
    truth: np.ndarray
    forecast: np.ndarray
    error: float
    recalled: list = field(default_factory=list)
    gate: float | None = None
    patches: np.ndarray | None = None


def forecast_window(cfg, model, data, split_name: str, index: int) -> WindowView:
    """The :class:`WindowView` of window ``index`` of ``split_name`` (a loaded run)."""
    split = data.split(split_name)
    if not 0 <= index < len(split):
        raise UserError(f"--example {index}: the {split_name} split has "
                        f"{len(split)} windows (0 to {len(split) - 1})")  # fmt: skip
    window = split[index : index + 1]
    tensors = [*model.parameters(), *model.buffers()]  # baselines may have none
    device = tensors[0].device if tensors else torch.device("cpu")
    with torch.no_grad():
        out = model(x=window["x"].to(device), need_weights=True)
    out_forecast = out.forecast.cpu()
    names = list(data.info.channel_names)
    c = names.index(cfg.data.config.target) if cfg.data.config.target in names else 0
    view = WindowView(
        names[c],
        int(window["start"][0]),
        window["x"][0, :, c].numpy(),
        window["targets"][0, :, c].numpy(),
        out_forecast[0, :, c].numpy(),
        float(((out_forecast - window["targets"]) ** 2).mean()),
    )
    if out.memory is not None:
        weights, retrieved = out.memory[0].cpu(), out.retrieved[0].cpu()
        mean, std = window["x"][0, :, c].mean(), window["x"][0, :, c].std(unbiased=False)
        for weight, first in zip(weights.tolist(), retrieved.tolist(), strict=True):
            if first < 0:
                continue
            row = int((model.memory_starts.cpu() == first).nonzero()[0, 0])
            values = model.memory_values[row].cpu().view(-1, len(names))[:, c]  # normalised
            view.recalled.append((weight, first, (values * std + mean).numpy()))
        view.gate = float(out.gate[0, :, c].mean())
    if out.patches is not None:  # row b * C + c of (B * C, ...); here b = 0
        view.patches = out.patches[c, -1].mean(0).float().cpu().numpy()  # (P, P)
    return view


@register_explainer("forecasting", takes="example")
def explain_forecast_run(request: ExplainRequest) -> str:
    """``amkit explain RUN [--example N] [--split test]`` of a forecasting run: the window's
    forecast against the truth (the target channel), the attention over patches (PatchTST,
    or a memory forecaster on PatchTST), the retrieved windows and their weights (memory
    forecaster). Values are on the scaled axis the model works on."""
    cfg, model, data = load_run(request.run_dir, overrides=request.overrides, device=request.device)
    view = forecast_window(cfg, model, data, request.split, request.example)
    out_dir = Path(request.out)
    tag = f"{request.split}{request.example}"
    lines = [f"  window {request.split} #{request.example} (series row {view.start + 1}), "
             f"MSE over all channels {view.error:.4f}"]  # fmt: skip
    recalled = None
    if view.gate is not None:
        recalled = [(weight, values) for weight, _, values in view.recalled]
        for weight, first, _ in view.recalled:
            lines.append(f"  retrieved training window at row {first + 1}: weight {weight:.3f}")
        lines.append(f"  gate (share of the base forecast, mean over steps): {view.gate:.3f}")
    png = _series_plot(view.history, view.truth, view.forecast, view.channel,
                       f"{cfg.model.name}: {request.split} window {request.example}",
                       recalled, out_dir / f"forecast_{tag}.png")  # fmt: skip
    lines.append(f"forecast plot: {png}")
    if view.patches is not None:
        last = view.patches
        labels = [str(i) for i in range(last.shape[0])]
        heat = save_heatmap(last, out_dir / f"patch_attention_{tag}.png",
                            x_labels=labels, y_labels=labels, annotate=False,
                            title=f"{view.channel}: patch attention (last layer)")  # fmt: skip
        top = torch.from_numpy(last).mean(0).topk(min(3, last.shape[0])).indices.tolist()
        lines.append(f"  patches attended most (mean over queries): {top}")
        lines.append(f"patch attention: {heat}")
    return "\n".join(lines)
