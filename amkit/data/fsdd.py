"""Spoken digits: the Free Spoken Digit Dataset (FSDD) and any folder of WAVs named like it.

FSDD (Jackson et al., github.com/Jakobovski/free-spoken-digit-dataset, CC BY-SA 4.0): 3,000
recordings, 6 speakers x 10 digits x 50 takes, mono 8 kHz, named
``{digit}_{speaker}_{take}.wav``; read from ``recordings.tar.gz`` or an unpacked folder
(:func:`amkit.data.audio.read_wav_collection`; stereo files are mixed to mono and other
sample rates resampled to ``sample_rate``).

Splits (``split``):

- ``official``: takes 0-4 of every speaker and digit are the test set (300), takes 5-49
  training (2,700);
- ``loso``: leave one speaker out: ``test_speaker``'s recordings are the test set, the other
  speakers' the training set.

Validation is a stratified, seeded ``val_fraction`` of the training recordings (seed
``split_seed``, else the run's), held out of training; ``train_fraction`` < 1 keeps a
stratified subset of the rest (quick probes). ``extra_train`` adds folders of other
recordings (e.g. synthesised digits, ``amkit data synth-digits``) to training, ``extra_test``
scores one more folder as the split ``synthetic``.

Noise (:mod:`amkit.data.noise`): ``augment_noise`` adds white or babble noise to a share
``augment_prob`` of each training batch's clips at an SNR drawn uniformly from
``augment_snr_db``, and the features are recomputed; ``test_noise: [white:10, babble:0]``
adds the splits ``test_white_10db`` and ``test_babble_0db``: the test set with noise mixed
in, seeded by ``noise_seed``. Babble is always mixed from training recordings only.

Model inputs: ``features (N, T, F)`` log-mel frames (:class:`amkit.data.audio.LogMel`),
``lengths (N,)`` real frames, ``targets (N,)`` digits; ``meta_index (N,)`` each row's clip in
``info.examples[split]``.

Legend: N clips, T frames, F mel bands, L samples.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from amkit.config import option
from amkit.data.audio import AudioClip, LogMel, pad_waves, read_wav_collection
from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, register_dataset
from amkit.data.locations import dataset_path
from amkit.data.noise import make_noise, mix_at_snr, parse_noise
from amkit.data.splits import stratified_split
from amkit.errors import UserError

log = logging.getLogger("amkit")

__all__ = ["FSDDConfig", "NoiseAugment", "build_fsdd", "clip_features", "feature_extractor"]

OFFICIAL_TEST_TAKES = 5  # takes 0-4: the official test set


@dataclass
class FSDDConfig:
    """``data: {name: fsdd}``: the split, the features, noise and extra recordings (the
    module docstring says what each does)."""

    path: str | None = None  # a folder or recordings.tar.gz; None: $AMKIT_DATA/fsdd
    split: Literal["official", "loso"] = "official"
    test_speaker: str | None = None  # loso: the speaker held out
    val_fraction: float = option(0.1, gt=0, lt=1)
    split_seed: int | None = None  # validation split and subset; None: the run's seed
    train_fraction: float = option(1.0, gt=0, le=1)
    sample_rate: int = option(8000, ge=1000)  # FSDD's own rate
    max_seconds: float = option(1.5, gt=0)  # longer clips are cut (FSDD: 99 % are < 0.95 s)
    n_mels: int = option(40, ge=1)
    n_fft: int = option(256, ge=16)
    win_ms: float = option(25.0, gt=0)
    hop_ms: float = option(10.0, gt=0)
    normalize: Literal["utterance", "none"] = "utterance"
    augment_noise: Literal["none", "white", "babble", "both"] = "none"
    augment_prob: float = option(0.5, ge=0, le=1)
    augment_snr_db: list[float] = field(default_factory=lambda: [0.0, 20.0])  # [low, high]
    test_noise: list[str] = field(default_factory=list)  # e.g. [white:10, babble:0]
    noise_seed: int = option(0, ge=0)
    babble_talkers: int = option(6, ge=1)
    extra_train: list[str] = field(default_factory=list)  # folders / archives of WAVs
    extra_test: str | None = None  # scored as the split "synthetic"

    def validate(self) -> list[str]:
        problems = []
        if self.split == "loso" and not self.test_speaker:
            problems.append("test_speaker: split loso needs the speaker to hold out")
        if self.split == "official" and self.test_speaker:
            problems.append("test_speaker: only for split loso (official tests takes 0-4)")
        if len(self.augment_snr_db) != 2 or self.augment_snr_db[0] > self.augment_snr_db[1]:
            problems.append(f"augment_snr_db: expected [low, high], got {self.augment_snr_db}")
        for spec in self.test_noise:
            try:
                parse_noise(spec)
            except UserError as error:
                problems.append(str(error))
        return problems


def feature_extractor(config: FSDDConfig) -> LogMel:
    """The run's :class:`LogMel`, from its data config alone (``amkit classify`` uses it)."""
    return LogMel(
        config.sample_rate, config.n_mels, config.n_fft, config.win_ms, config.hop_ms,
        config.normalize,
    )  # fmt: skip


def clip_features(
    waves: list[np.ndarray], config: FSDDConfig, extractor: LogMel | None = None
) -> tuple[Tensor, Tensor]:
    """``(features (N, T, F), lengths (N,))`` of ``waves``, each cut to ``max_seconds``,
    computed 256 clips at a time."""
    extractor = extractor or feature_extractor(config)
    max_samples = int(config.max_seconds * config.sample_rate)
    parts, lengths = [], []
    for start in range(0, len(waves), 256):
        batch, samples = pad_waves(waves[start : start + 256], max_samples)
        features, frames = extractor(batch, samples)
        parts.append(features)
        lengths.append(frames)
    width = max(p.shape[1] for p in parts)
    features = torch.cat([torch.nn.functional.pad(p, (0, 0, 0, width - p.shape[1])) for p in parts])
    return features, torch.cat(lengths)


class NoiseAugment:
    """``augment(batch, generator)``: noise added to a share of a training batch's clips at
    a random SNR, their features recomputed (:class:`TensorDictDataset`'s ``augment``)."""

    def __init__(self, clips: list[AudioClip], pool: list[np.ndarray], config: FSDDConfig):
        self.waves = [c.wave for c in clips]
        self.pool, self.config = pool, config
        both = config.augment_noise == "both"
        self.kinds = ["white", "babble"] if both else [config.augment_noise]
        self.extractor = feature_extractor(config)

    def __call__(self, batch: dict[str, Tensor], generator: torch.Generator | None) -> dict:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        rng = np.random.default_rng(seed)
        cfg = self.config
        waves = []
        for index in batch["meta_index"].tolist():
            wave = self.waves[index]
            if rng.random() < cfg.augment_prob:
                kind = self.kinds[int(rng.integers(len(self.kinds)))]
                noise = make_noise(kind, len(wave), rng, self.pool, cfg.babble_talkers)
                wave = mix_at_snr(wave, noise, float(rng.uniform(*cfg.augment_snr_db)))
            waves.append(wave)
        features, lengths = clip_features(waves, cfg, self.extractor)
        return {**batch, "features": features, "lengths": lengths}


def _noisy(clips: list[AudioClip], kind: str, snr: float, pool, config: FSDDConfig) -> list:
    """The clips with ``kind`` noise at ``snr`` dB, the same noise for the same seed."""
    rng = np.random.default_rng([config.noise_seed, ("white", "babble").index(kind),
                                 int(round(snr * 100)) + 100_000])  # fmt: skip
    out = []
    for clip in clips:
        noise = make_noise(kind, len(clip.wave), rng, pool, config.babble_talkers)
        wave = mix_at_snr(clip.wave, noise, snr)
        out.append(AudioClip(clip.name, wave, clip.label, clip.speaker, clip.take))
    return out


def _dataset(clips: list[AudioClip], config: FSDDConfig, augment=None) -> TensorDictDataset:
    features, lengths = clip_features([c.wave for c in clips], config)
    return TensorDictDataset(
        {
            "features": features,
            "lengths": lengths,
            "targets": torch.tensor([c.label for c in clips], dtype=torch.long),
            "meta_index": torch.arange(len(clips)),
        },
        augment=augment,
    )


def _split_clips(
    clips: list[AudioClip], config: FSDDConfig, seed: int
) -> tuple[list[AudioClip], list[AudioClip], list[AudioClip]]:
    """``(train, val, test)`` clips of the configured split."""
    if config.split == "official":
        test = [c for c in clips if c.take < OFFICIAL_TEST_TAKES]
        pool = [c for c in clips if c.take >= OFFICIAL_TEST_TAKES]
    else:
        speakers = sorted({c.speaker for c in clips})
        if config.test_speaker not in speakers:
            raise UserError(
                f"data.test_speaker: {config.test_speaker!r} is not a speaker of the data; "
                f"speakers: {', '.join(speakers)}"
            )
        test = [c for c in clips if c.speaker == config.test_speaker]
        pool = [c for c in clips if c.speaker != config.test_speaker]
    if not test or len(pool) < 2:
        raise UserError(
            f"data.split {config.split}: {len(pool)} training and {len(test)} test recordings; "
            "both must be non-empty (official: takes 0-4 are the test set)"
        )
    labels = [c.label for c in pool]
    split_seed = seed if config.split_seed is None else config.split_seed
    try:
        fit, val = stratified_split(labels, (1 - config.val_fraction, config.val_fraction),
                                    split_seed)  # fmt: skip
        if config.train_fraction < 1:
            kept, _ = stratified_split([labels[i] for i in fit],
                                       (config.train_fraction, 1 - config.train_fraction),
                                       split_seed)  # fmt: skip
            fit = fit[kept]
    except ValueError as error:  # too few recordings per digit to stratify
        raise UserError(
            f"data: cannot split {len(pool)} training recordings by digit ({error}); "
            "change data.val_fraction or data.train_fraction"
        ) from None
    return [pool[i] for i in fit], [pool[i] for i in val], test


def _read_digits(path, config: FSDDConfig) -> list[AudioClip]:
    """The recordings under ``path``; a label that is not a digit names its file."""
    clips = read_wav_collection(path, config.sample_rate)
    for clip in clips:
        if not 0 <= clip.label <= 9:
            raise UserError(f"{path}: {clip.name}: the label must be a digit 0-9")
    return clips


@register_dataset("fsdd", config=FSDDConfig, task="classification")
def build_fsdd(config: FSDDConfig, seed: int) -> DataBundle:
    """Read the recordings, split them, compute the features (module docstring)."""
    location = dataset_path("fsdd", config.path)
    clips = _read_digits(location, config)
    train, val, test = _split_clips(clips, config, seed)
    pool = [c.wave for c in train]  # babble: the real training recordings only
    for extra in config.extra_train:
        train = train + _read_digits(dataset_path("fsdd", extra, "data.extra_train"), config)
    examples = {"train": train, "val": val, "test": test}
    augment = None
    if config.augment_noise != "none":
        augment = NoiseAugment(train, pool, config)
    splits = {"train": _dataset(train, config, augment), "val": _dataset(val, config),
              "test": _dataset(test, config)}  # fmt: skip
    for spec in config.test_noise:
        kind, snr = parse_noise(spec)
        name = f"test_{kind}_{snr:g}db"
        examples[name] = _noisy(test, kind, snr, pool, config)
        splits[name] = _dataset(examples[name], config)
    if config.extra_test:
        where = dataset_path("fsdd", config.extra_test, "data.extra_test")
        examples["synthetic"] = _read_digits(where, config)
        splits["synthetic"] = _dataset(examples["synthetic"], config)
    info = DataInfo(
        task="classification",
        n_classes=10,
        label_names=[str(d) for d in range(10)],
        n_features=config.n_mels,
        max_len=max(int(s.tensors["lengths"].max()) for s in splits.values()),
        statistics={
            "sizes": {name: len(s) for name, s in splits.items()},
            "speakers": dict(Counter(c.speaker for c in clips)),
            "feature_frames_per_second": round(1000 / config.hop_ms, 3),
        },
        examples=examples,
    )
    log.info("fsdd %s split: %s", config.split, info.statistics["sizes"])
    return DataBundle(splits, info)
