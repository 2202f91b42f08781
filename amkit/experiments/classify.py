"""Classify one file with a trained run: ``amkit classify RUN_DIR FILE``.

What a file is read as depends on the run's data, looked up in :data:`FILE_READERS` by the
kind :func:`input_kind` gives the run: ``image`` for runs trained on images (their
``DataInfo.image_shape`` is set), ``audio`` for runs trained on recordings (``n_features``
set). A reader turns the file into the keyword inputs of the run's model, prepared exactly
as the training data were; a new kind of input is one more entry in the table and one more
case in :func:`input_kind`.

Images: any file Pillow reads (PNG, JPEG, BMP, ...) is converted to grayscale and resized
to the run's training size (bilinear), then normalised with the training data's mean and
standard deviation -- the expected behaviour, not an error. A file that is not an image
is a :class:`~amkit.errors.UserError` naming it.

Audio: a WAV file is mixed to mono and resampled to the run's sample rate (the expected
behaviour), then turned into log-mel frames as the training clips were; an empty, truncated
or non-audio file is a :class:`~amkit.errors.UserError` naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from amkit.data.audio import read_wav
from amkit.data.base import DataInfo
from amkit.data.fsdd import clip_features
from amkit.data.images import read_image_file
from amkit.errors import UserError
from amkit.experiments.loading import LoadedRun, load
from amkit.train.device import model_device

__all__ = [
    "FILE_READERS", "Classification", "audio_inputs", "classify_file", "image_inputs", "input_kind",
]  # fmt: skip


def image_inputs(path: Path, run: LoadedRun) -> dict[str, Tensor]:
    """``{"images": (1, 1, H, W)}``: the file as the run's model takes images."""
    info = run.info
    _, height, width = info.image_shape
    pixels = torch.from_numpy(read_image_file(path, (height, width)))  # (H, W) in [0, 1]
    mean, std = (info.image_mean or [0.0])[0], (info.image_std or [1.0])[0]
    return {"images": ((pixels - mean) / std)[None, None]}


def audio_inputs(path: Path, run: LoadedRun) -> dict[str, Tensor]:
    """``{"features": (1, T, F), "lengths": (1,)}``: the WAV file as the run's model takes
    recordings."""
    data_config = run.config.data.config
    features, lengths = clip_features([read_wav(path, data_config.sample_rate)], data_config)
    return {"features": features, "lengths": lengths}


FILE_READERS: dict[str, Callable[[Path, LoadedRun], dict[str, Tensor]]] = {
    "image": image_inputs,
    "audio": audio_inputs,
}
"""Input kind -> ``reader(path, run) -> model inputs`` (a batch of one)."""


def input_kind(info: DataInfo) -> str | None:
    """The kind of file a run classifies (a key of :data:`FILE_READERS`), or ``None`` for
    runs that take no files (text, stories, ...)."""
    if info.image_shape is not None:
        return "image"
    if info.n_features is not None:
        return "audio"
    return None


@dataclass
class Classification:
    """What :func:`classify_file` found.

    Attributes:
        file: the file classified.
        kind: the input kind (``image``).
        label: the most probable class's name.
        probabilities: class name -> probability, most probable first.
    """

    file: Path
    kind: str
    label: str
    probabilities: dict[str, float]


@torch.no_grad()
def classify_file(run: str | Path | LoadedRun, path: str | Path, device: str = "cpu"):
    """Classify ``path`` with a trained run (a run directory or a loaded run): returns a
    :class:`Classification`. The run's training data need not be on disk."""
    run = run if isinstance(run, LoadedRun) else load(run, device=device)
    kind = input_kind(run.info)
    if kind is None:
        raise UserError(
            f"{run.run_dir} classifies no files (a {run.info.task} run on "
            f"{run.config.data.name}); amkit classify takes runs trained on "
            f"{', '.join(FILE_READERS)} data"
        )
    inputs = FILE_READERS[kind](Path(path), run)
    target = model_device(run.model)
    logits = run.model(**{k: v.to(target) for k, v in inputs.items()}).logits
    probabilities = torch.softmax(logits.float(), -1)[0].cpu()
    names = run.info.label_names or [str(i) for i in range(len(probabilities))]
    order = probabilities.argsort(descending=True).tolist()
    return Classification(
        Path(path),
        kind,
        names[order[0]],
        {names[i]: float(probabilities[i]) for i in order},
    )
