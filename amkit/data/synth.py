"""Synthesised spoken digits from ``espeak-ng``: a seeded generator of FSDD-style WAVs.

    amkit data synth-digits runs/synth-train --n-per-digit 20 --voices train --seed 0
    amkit data synth-digits runs/synth-test --n-per-digit 10 --voices test --seed 1

Each file is one English digit word ("zero" ... "nine") spoken by ``espeak-ng`` with a voice
(a language / accent and a variant, e.g. ``en-us+f2``), a speed (words per minute) and a
pitch (0-99) drawn uniformly from ``speeds`` and ``pitches`` by a seeded generator. The
22.05 kHz output is resampled to ``sample_rate`` (8 kHz, FSDD's rate; ``resample_poly``),
leading and trailing silence is trimmed (:func:`trim_silence`: frames 30 dB below the
loudest, as FSDD's recordings are trimmed) and the clip is written as 16-bit PCM named
``{digit}_{speaker}_{take}.wav``, the speaker being the voice with ``+`` written ``-``
(``en-us-f2``). The same seed, voices and ``espeak-ng`` version give the same files.

:data:`TRAIN_VOICES` and :data:`TEST_VOICES` share no accent and no variant, so a model
trained on one set and tested on the other hears new voices (``--voices train`` /
``--voices test``; or a comma-separated list of voices).

Legend: L samples.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np

from amkit.data.audio import decode_wav
from amkit.errors import UserError
from amkit.io import atomic_write_bytes

__all__ = [
    "DIGIT_WORDS",
    "TEST_VOICES",
    "TRAIN_VOICES",
    "espeak_available",
    "synth_digits",
    "trim_silence",
]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# accents (espeak-ng's English voices) and variants disjoint between the two sets
TRAIN_VOICES = ("en-us+m1", "en-us+f2", "en-gb+m3", "en-gb+f4", "en-gb-x-rp+m5", "en-029+f1")
TEST_VOICES = ("en-us-nyc+m2", "en-gb-scotland+f3", "en-gb-x-gbclan+m4", "en-gb-x-gbcwmd+f5")
VOICE_SETS = {"train": TRAIN_VOICES, "test": TEST_VOICES}


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on the PATH."""
    return shutil.which("espeak-ng") is not None


def resolve_voices(voices: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"train"`` / ``"test"`` (the sets above) or voices, as a list or comma-separated."""
    if isinstance(voices, str):
        if voices in VOICE_SETS:
            return list(VOICE_SETS[voices])
        voices = [v.strip() for v in voices.split(",") if v.strip()]
    if not voices:
        raise UserError("--voices: give train, test or espeak-ng voices such as en-us+f2")
    return list(voices)


def _speak(word: str, voice: str, speed: int, pitch: int) -> bytes:
    command = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word]
    try:
        done = subprocess.run(command, capture_output=True, timeout=30, check=False)
    except FileNotFoundError:
        raise UserError("espeak-ng is not installed (Debian: apt-get install espeak-ng)") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise UserError(f"espeak-ng voice {voice!r} failed: {message or 'no audio'}")
    return done.stdout


def trim_silence(wave: np.ndarray, top_db: float = 30.0, frame: int = 256, hop: int = 64):
    """``wave`` from its first to its last frame whose RMS is within ``top_db`` of the
    loudest frame's (``librosa.effects.trim``'s rule, without its import time)."""
    if len(wave) <= frame:
        return wave
    starts = np.arange(0, len(wave) - frame + 1, hop)
    frames = np.stack([wave[s : s + frame] for s in starts])  # (frames, frame)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    loud = np.nonzero(rms > rms.max() * 10 ** (-top_db / 20))[0]
    if rms.max() == 0 or not len(loud):
        return wave
    return wave[starts[loud[0]] : starts[loud[-1]] + frame]


def synth_digits(
    out_dir: str | Path,
    n_per_digit: int,
    voices: str | list[str] | tuple[str, ...] = "train",
    seed: int = 0,
    speeds: tuple[int, int] = (120, 200),
    pitches: tuple[int, int] = (25, 75),
    sample_rate: int = 8000,
) -> list[Path]:
    """Write ``n_per_digit`` clips of every digit for every voice into ``out_dir``; returns
    the files in the order written (module docstring: how)."""
    import soundfile

    if n_per_digit < 1:
        raise UserError(f"--n-per-digit must be >= 1, got {n_per_digit}")
    if speeds[0] > speeds[1] or pitches[0] > pitches[1] or min(pitches) < 0 or max(pitches) > 99:
        raise UserError(f"speeds {speeds} / pitches {pitches}: give [low, high], pitch 0-99")
    voice_list = resolve_voices(voices)
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for voice in voice_list:
        speaker = voice.replace("+", "-").replace("_", "-")
        for digit, word in enumerate(DIGIT_WORDS):
            for take in range(n_per_digit):
                speed = int(rng.integers(speeds[0], speeds[1] + 1))
                pitch = int(rng.integers(pitches[0], pitches[1] + 1))
                source = f"espeak-ng {voice} '{word}'"
                spoken = _speak(word, voice, speed, pitch)
                wave = trim_silence(decode_wav(spoken, source, sample_rate))
                buffer = io.BytesIO()
                soundfile.write(buffer, wave, sample_rate, subtype="PCM_16", format="WAV")
                path = out / f"{digit}_{speaker}_{take}.wav"
                atomic_write_bytes(path, buffer.getvalue())
                written.append(path)
    return written
