"""WAV files in, log-mel frames out: the audio reader and features of the speech datasets.

- :func:`decode_wav` / :func:`read_wav`: one file's samples, decoded by ``soundfile``
  (libsndfile), as mono float32 at the target sample rate. **Converted, as expected**: a
  stereo (multi-channel) file is mixed down to mono (the mean of its channels); a file at
  another sample rate is resampled to the target rate with ``scipy.signal.resample_poly``
  (polyphase filtering, anti-aliased). **Errors** (a :class:`~amkit.errors.UserError` naming
  the file): an empty file, a WAV whose header promises more audio than the file holds
  (truncated), a file libsndfile cannot decode (not audio), a sample rate outside 1-384 kHz,
  a file with no samples or with NaN / inf samples.
- :func:`read_wav_collection`: every ``*.wav`` of a folder (recursively) or of a ``.tar.gz``
  / ``.tgz`` / ``.tar`` archive, as :class:`AudioClip` s whose label, speaker and take come
  from names in the Free Spoken Digit Dataset's pattern ``{digit}_{speaker}_{take}.wav``.
- :class:`LogMel`: batched log-mel filterbank frames, ``torch.stft`` with a Hann window and
  the mel filterbank of ``librosa.filters.mel`` (Slaney mel scale, area-normalised), then
  ``log(mel + 1e-6)`` and, by default, each utterance's mean and standard deviation per mel
  band removed (over its real frames). A frame ``t`` covers samples ``[t hop - n_fft / 2,
  t hop + n_fft / 2)``, zeros outside the clip, so a clip gives the same frames alone or
  padded in a batch.

Legend: B batch, L samples, T frames, F mel bands, N clips.
"""

from __future__ import annotations

import io
import re
import struct
import tarfile
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from amkit.errors import UserError

__all__ = [
    "AudioClip",
    "LogMel",
    "decode_wav",
    "pad_waves",
    "parse_digit_name",
    "read_wav",
    "read_wav_collection",
]

_NAME = re.compile(r"^(\d+)_([A-Za-z0-9-]+)_(\d+)\.wav$")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
MIN_RATE, MAX_RATE = 1000, 384_000  # Hz: what a recording can have (telephone to studio)


@dataclass
class AudioClip:
    """One recording: mono samples at the reader's rate, and what its name says.

    Attributes:
        name: the file's name (``7_jackson_32.wav``).
        wave: ``(L,)`` float32 samples in [-1, 1].
        label: the spoken digit.
        speaker: the speaker (or synthetic voice) id.
        take: the take number (FSDD: takes 0-4 are the official test set).
    """

    name: str
    wave: np.ndarray
    label: int
    speaker: str
    take: int


def parse_digit_name(name: str, source: str | None = None) -> tuple[int, str, int]:
    """``"7_jackson_32.wav"`` -> ``(7, "jackson", 32)``; another name is a :class:`UserError`
    naming ``source`` (default: the name)."""
    match = _NAME.match(Path(name).name)
    if match is None:
        raise UserError(
            f"{source or name}: expected a name '{{digit}}_{{speaker}}_{{take}}.wav' "
            "(e.g. 7_jackson_32.wav)"
        )
    return int(match.group(1)), match.group(2), int(match.group(3))


def _check_riff_length(data: bytes, source: str) -> None:
    """A RIFF/WAVE file whose ``data`` chunk declares more bytes than the file holds was cut
    short: libsndfile would read what is there without a word, so say it."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return
    at = 12
    while at + 8 <= len(data):
        chunk, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        if chunk == b"data":
            have = len(data) - at - 8
            streamed = size == 0 or size >= 0x7FFF0000  # a placeholder size of a stream writer
            if not streamed and size > have:
                raise UserError(
                    f"{source}: truncated WAV file: its header declares {size} bytes of audio, "
                    f"the file holds {have}; re-export or re-download it"
                )
            return
        at += 8 + size + (size & 1)  # chunks are padded to an even size


def decode_wav(data: bytes, source: str, sample_rate: int) -> np.ndarray:
    """``(L,)`` float32 mono samples of the WAV (or other libsndfile format) ``data`` at
    ``sample_rate``: channels mixed to mono, other rates resampled (``resample_poly``).

    Raises:
        UserError: empty, truncated, undecodable, silent-length or non-finite audio; the
            message names ``source``.
    """
    import soundfile

    if not data:
        raise UserError(f"{source}: empty file (0 bytes); expected a WAV recording")
    _check_riff_length(data, source)
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, ValueError, TypeError, OverflowError) as error:
        reason = str(error).split(": ", 1)[-1]  # drop libsndfile's "<_io.BytesIO ...>"
        raise UserError(f"{source}: not a readable audio file ({reason})") from None
    if not MIN_RATE <= rate <= MAX_RATE:
        raise UserError(
            f"{source}: a sample rate of {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz; "
            "the header is corrupt or the file is not a recording"
        )
    if samples.shape[0] == 0:
        raise UserError(f"{source}: the file holds no audio samples")
    if not np.isfinite(samples).all():
        raise UserError(f"{source}: the audio holds NaN or infinite samples")
    wave = samples.mean(axis=1)  # (L,): stereo and more channels mixed to mono
    if rate != sample_rate:
        divisor = gcd(int(rate), int(sample_rate))
        wave = _resample(wave, sample_rate // divisor, int(rate) // divisor)
    return np.ascontiguousarray(wave, dtype=np.float32)


def _resample(wave: np.ndarray, up: int, down: int) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(wave, up, down).astype(np.float32)


def read_wav(path: str | Path, sample_rate: int = 8000) -> np.ndarray:
    """``(L,)`` mono float32 samples of the file at ``path``, at ``sample_rate``
    (:func:`decode_wav`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such audio file")
    return decode_wav(path.read_bytes(), str(path), sample_rate)


def read_wav_collection(path: str | Path, sample_rate: int = 8000) -> list[AudioClip]:
    """Every ``*.wav`` under the folder ``path`` (recursively) or in the archive ``path``
    (``.tar.gz``, ``.tgz``, ``.tar``), sorted by name, labelled from their names
    (:func:`parse_digit_name`). Other files are skipped; no WAV at all is an error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such folder or archive of WAV files")
    clips = []
    for name, source, data in sorted(_wav_files(path)):
        label, speaker, take = parse_digit_name(name, source)
        clips.append(AudioClip(name, decode_wav(data, source, sample_rate), label, speaker, take))
    if not clips:
        raise UserError(f"{path}: no .wav files found")
    return clips


def _wav_files(path: Path):
    """``(name, source for messages, bytes)`` of each ``.wav`` in a folder or archive."""
    if path.is_dir():
        for file in path.rglob("*.wav"):
            if file.is_file():
                yield file.name, str(file), file.read_bytes()
        return
    if not path.name.endswith(ARCHIVE_SUFFIXES):
        raise UserError(
            f"{path}: expected a folder of WAV files or a {', '.join(ARCHIVE_SUFFIXES)} archive"
        )
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                if member.isfile() and member.name.endswith(".wav"):
                    handle = archive.extractfile(member)
                    data = handle.read() if handle is not None else b""
                    yield Path(member.name).name, f"{path}:{member.name}", data
    except (tarfile.TarError, EOFError, OSError) as error:
        raise UserError(f"{path}: not a readable tar archive ({error})") from None


def pad_waves(waves: list[np.ndarray], max_samples: int | None = None) -> tuple[Tensor, Tensor]:
    """``(B, L)`` float tensor of ``waves`` right-padded with zeros (each cut to
    ``max_samples`` when given) and their lengths ``(B,)``."""
    cut = [w[:max_samples] if max_samples else w for w in waves]
    lengths = torch.tensor([len(w) for w in cut], dtype=torch.long)
    out = torch.zeros(len(cut), int(lengths.max()) if len(cut) else 0)
    for i, w in enumerate(cut):
        out[i, : len(w)] = torch.from_numpy(np.asarray(w, dtype=np.float32))
    return out, lengths


class LogMel:
    """Log-mel filterbank frames of a batch of waves (module docstring: the recipe).

    Args:
        sample_rate: samples per second of the waves.
        n_mels: F, mel bands.
        n_fft: FFT size in samples (a power of two at least the window).
        win_ms: analysis window in milliseconds (Hann).
        hop_ms: frame shift in milliseconds.
        normalize: ``utterance``: each utterance's per-band mean and std removed; ``none``.
    """

    def __init__(
        self,
        sample_rate: int = 8000,
        n_mels: int = 40,
        n_fft: int = 256,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        normalize: str = "utterance",
    ):
        import librosa.filters

        self.win = round(sample_rate * win_ms / 1000)
        self.hop = round(sample_rate * hop_ms / 1000)
        if self.win > n_fft:
            raise UserError(f"win_ms {win_ms} gives {self.win} samples, more than n_fft {n_fft}")
        if self.hop < 1:
            raise UserError(f"hop_ms {hop_ms} is under one sample at {sample_rate} Hz")
        if normalize not in ("utterance", "none"):
            raise UserError(f"normalize must be utterance or none, got {normalize!r}")
        self.n_fft, self.normalize, self.n_mels = n_fft, normalize, n_mels
        mel = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=20.0)
        self.filters = torch.from_numpy(mel).float()  # (F, n_fft // 2 + 1)
        self.window = torch.hann_window(self.win)

    def frames(self, lengths: Tensor) -> Tensor:
        """``(B,)`` frames of clips of ``lengths`` samples: ``1 + L // hop``."""
        return 1 + lengths // self.hop

    def __call__(self, waves: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``waves (B, L)`` zero-padded, ``lengths (B,)`` -> ``(features (B, T, F), frames
        (B,))``; features past a clip's frames are 0."""
        pad = self.n_fft // 2
        x = F.pad(waves.float(), (pad, pad))  # (B, L + n_fft)
        spec = torch.stft(
            x,
            self.n_fft,
            hop_length=self.hop,
            win_length=self.win,
            window=self.window.to(x.device),
            center=False,
            return_complex=True,
        )  # (B, n_fft // 2 + 1, T)
        power = spec.abs().pow(2)
        mel = torch.log(self.filters.to(x.device) @ power + 1e-6).transpose(1, 2)  # (B, T, F)
        frames = self.frames(lengths).clamp(max=mel.shape[1])
        mask = (torch.arange(mel.shape[1], device=x.device)[None] < frames[:, None]).unsqueeze(-1)
        if self.normalize == "utterance":
            count = frames.clamp(min=1).view(-1, 1, 1).to(mel.dtype)
            mean = (mel * mask).sum(1, keepdim=True) / count  # (B, 1, F)
            var = (((mel - mean) * mask) ** 2).sum(1, keepdim=True) / count
            mel = (mel - mean) / (var.sqrt() + 1e-5)
        return mel * mask, frames  # (B, T, F), (B,)
