"""Explain a speech run: the waveform, the log-mel spectrogram and the attention over frames.

    amkit explain runs/fsdd/gru_attention --example 7            (a test clip)
    amkit explain runs/fsdd/gru_attention --split test_babble_0db --example 7

:func:`classify_wav` is the prediction for one WAV file (read as the run's data was: mixed to
mono, resampled to its rate, the same log-mel features), from the run directory alone.
:func:`explain_clip` draws one figure, ``speech_<name>.png``: the waveform on top, the
spectrogram below it with the attention over frames drawn over it (a white curve, its own
axis on the right) and, for the Transformer, the mean over heads of the last layer's
self-attention as a frames x frames map.

Legend: L samples, T frames, F mel bands, C classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from amkit.data.fsdd import clip_features
from amkit.errors import UserError
from amkit.experiments.classify import classify_file
from amkit.experiments.loading import LoadedRun, load
from amkit.experiments.run import load_run
from amkit.explain.heatmap import plt
from amkit.explain.registry import ExplainRequest, register_explainer
from amkit.io import atomic_save_figure
from amkit.train.device import model_device

__all__ = [
    "SpeechExplanation",
    "classify_wav",
    "clip_attention",
    "explain_clip",
    "speech_features",
]

SPEECH_MODELS = ("gru_attention", "speech_transformer")


@dataclass
class SpeechExplanation:
    """What :func:`explain_clip` found.

    Attributes:
        label: the predicted class name.
        probabilities: class name -> probability.
        frames: ``(T,)`` the attention over the clip's frames (sums to 1).
        frame_seconds: seconds between two frames.
        png: the figure it wrote (``None`` when asked for none).
    """

    label: str
    probabilities: dict[str, float]
    frames: np.ndarray
    frame_seconds: float
    png: Path | None


def _speech_run(run: LoadedRun) -> None:
    if run.config.model.name not in SPEECH_MODELS or run.info.n_features is None:
        raise UserError(
            f"{run.run_dir} is a {run.config.model.name} run, not a speech run "
            f"({', '.join(SPEECH_MODELS)} on data such as fsdd)"
        )


def speech_features(run: LoadedRun, wave: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features (1, T, F), lengths (1,))`` of ``(L,)`` samples, as the run's data makes
    them."""
    _speech_run(run)
    return clip_features([wave], run.config.data.config)


def classify_wav(run: LoadedRun | str | Path, path: str | Path) -> dict[str, float]:
    """Class name -> probability for the WAV file ``path`` under a speech run (a run
    directory or a :func:`amkit.load` result); the most likely class first. The same as
    ``amkit classify RUN FILE.wav`` (:func:`amkit.experiments.classify.classify_file`)."""
    run = run if isinstance(run, LoadedRun) else load(run)
    _speech_run(run)
    return classify_file(run, path).probabilities


@torch.no_grad()
def clip_attention(run: LoadedRun, wave: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """``(features (1, T, F), lengths (1,), model output)`` of ``(L,)`` samples: the features
    on the CPU, the model run on its own device with ``need_weights=True``."""
    features, lengths = speech_features(run, wave)
    device = model_device(run.model)
    output = run.model.eval()(
        features=features.to(device), lengths=lengths.to(device), need_weights=True
    )
    return features, lengths, output


@torch.no_grad()
def explain_clip(
    run: LoadedRun, wave: np.ndarray, name: str, out_dir: str | Path | None
) -> SpeechExplanation:
    """Classify ``(L,)`` samples and draw the waveform, spectrogram and attention over frames
    into ``out_dir/speech_<name>.png`` (``out_dir`` ``None``: no figure, ``png`` ``None``)."""
    features, lengths, output = clip_attention(run, wave)
    probabilities = torch.softmax(output.logits.float(), -1)[0].tolist()
    names = run.info.label_names or [str(i) for i in range(len(probabilities))]
    label = names[int(np.argmax(probabilities))]
    t = int(lengths[0])
    frames = output.frames[0, :t].float().cpu().numpy()  # (T,)
    data = run.config.data.config
    hop = data.hop_ms / 1000
    by_name = dict(zip(names, probabilities, strict=True))
    if out_dir is None:
        return SpeechExplanation(label, by_name, frames, hop, None)
    layers = getattr(output, "layers", None)
    panels = 3 if layers is not None else 2
    fig, axes = plt.subplots(panels, 1, figsize=(8, 2.4 * panels + 0.6))
    seconds = np.arange(len(wave)) / data.sample_rate
    axes[0].plot(seconds, wave, linewidth=0.6, color="tab:blue")
    axes[0].set_xlim(0, max(len(wave) / data.sample_rate, t * hop))
    axes[0].set_ylabel("amplitude")
    axes[0].set_title(f"{name}: predicted {label} ({max(probabilities):.2f})")
    spectrogram = features[0, :t].numpy().T  # (F, T)
    axes[1].imshow(spectrogram, origin="lower", aspect="auto", cmap="magma",
                   extent=(0, t * hop, 0, spectrogram.shape[0]))  # fmt: skip
    axes[1].set_ylabel("mel band")
    axes[1].set_xlim(axes[0].get_xlim())
    twin = axes[1].twinx()
    twin.plot((np.arange(t) + 0.5) * hop, frames, color="white", linewidth=1.6)
    twin.set_ylim(0, max(float(frames.max()) * 1.1, 1e-6))
    twin.set_ylabel("attention over frames")
    axes[1].set_xlabel("seconds")
    if layers is not None:
        last = layers[0, -1, :, :t, :t].float().mean(0).cpu().numpy()  # (T, T), mean of heads
        axes[2].imshow(last, origin="lower", aspect="auto", cmap="viridis")
        axes[2].set_title("last layer's self-attention (mean over heads)")
        axes[2].set_xlabel("key frame")
        axes[2].set_ylabel("query frame")
    fig.tight_layout()
    png = atomic_save_figure(fig, Path(out_dir) / f"speech_{Path(name).stem}.png")
    return SpeechExplanation(label, by_name, frames, hop, png)


def _explain_example(request: ExplainRequest) -> str:
    config, model, data = load_run(request.run_dir, request.overrides, request.device)
    clips = (data.info.examples or {}).get(request.split)
    if clips is None:
        raise UserError(
            f"--split {request.split}: this run's data has the splits "
            f"{', '.join(data.info.examples or {})}"
        )
    if not 0 <= request.example < len(clips):
        raise UserError(f"--example {request.example}: the {request.split} split has "
                        f"{len(clips)} clips (0 to {len(clips) - 1})")  # fmt: skip
    clip = clips[request.example]
    run = LoadedRun(Path(request.run_dir), config, model, data.info)
    found = explain_clip(run, clip.wave, clip.name, request.out)
    top = np.argsort(found.frames)[::-1][:3]
    peaks = ", ".join(f"{i * found.frame_seconds:.2f} s ({found.frames[i]:.2f})" for i in top)
    best = sorted(found.probabilities.items(), key=lambda kv: -kv[1])[:3]
    return "\n".join([
        f"{clip.name} (speaker {clip.speaker}, digit {clip.label}): predicted {found.label}",
        "probabilities: " + ", ".join(f"{k} {v:.3f}" for k, v in best),
        f"most attended frames: {peaks}",
        f"figure: {found.png}",
    ])  # fmt: skip


for _model in SPEECH_MODELS:
    register_explainer(_model, takes="example")(_explain_example)
