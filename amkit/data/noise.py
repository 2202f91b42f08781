"""Noise for speech: white and babble-like noise mixed into a clip at a given SNR, seeded.

- :func:`mix_at_snr`: ``wave + g * noise`` with the gain ``g`` that makes the signal-to-noise
  ratio ``10 log10(P_wave / P_noise)`` equal ``snr_db`` (powers are mean squares over the
  clip).
- :func:`white_noise`: Gaussian samples.
- :func:`babble_noise`: the sum of ``talkers`` recordings drawn from a pool (each looped
  from a random offset to the clip's length and scaled to unit power): speech-shaped noise
  from other voices. Callers draw the pool from the *training* recordings only, so a test
  speaker's voice never leaks into training through the noise.

Legend: L samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from amkit.errors import UserError

__all__ = ["NOISE_KINDS", "babble_noise", "make_noise", "mix_at_snr", "parse_noise", "white_noise"]

NOISE_KINDS = ("white", "babble")


def mix_at_snr(wave: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``(L,)`` ``wave`` plus ``noise`` ``(L,)`` scaled to ``snr_db`` dB below the wave's power
    (a silent wave or noise is returned unchanged)."""
    signal_power = float(np.mean(wave.astype(np.float64) ** 2))
    noise_power = float(np.mean(noise.astype(np.float64) ** 2))
    if signal_power == 0 or noise_power == 0:
        return wave.copy()
    gain = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return (wave + gain * noise).astype(np.float32)


def white_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """``(L,)`` standard Gaussian samples."""
    return rng.standard_normal(length).astype(np.float32)


def babble_noise(
    pool: Sequence[np.ndarray], length: int, rng: np.random.Generator, talkers: int = 6
) -> np.ndarray:
    """``(L,)`` the sum of ``talkers`` clips drawn from ``pool`` (with replacement), each
    looped from a random offset and scaled to unit power."""
    if not pool:
        raise UserError("babble noise needs training recordings to mix; the pool is empty")
    out = np.zeros(length, dtype=np.float64)
    for index in rng.integers(0, len(pool), size=talkers):
        clip = np.asarray(pool[int(index)], dtype=np.float64)
        start = int(rng.integers(0, len(clip)))
        looped = np.resize(np.roll(clip, -start), length)  # (L,) repeated as needed
        out += looped / max(np.sqrt(np.mean(looped**2)), 1e-8)
    return out.astype(np.float32)


def make_noise(
    kind: str,
    length: int,
    rng: np.random.Generator,
    pool: Sequence[np.ndarray] = (),
    talkers: int = 6,
) -> np.ndarray:
    """``(L,)`` noise of ``kind`` (``white`` or ``babble``)."""
    if kind == "white":
        return white_noise(length, rng)
    if kind == "babble":
        return babble_noise(pool, length, rng, talkers)
    raise UserError(f"noise kind {kind!r}: choose one of {', '.join(NOISE_KINDS)}")


def parse_noise(spec: str, key: str = "data.test_noise") -> tuple[str, float]:
    """``"babble:10"`` -> ``("babble", 10.0)``; a bad spec is a :class:`UserError` naming
    ``key``."""
    kind, _, snr = str(spec).partition(":")
    try:
        value = float(snr)
    except ValueError:
        value = None
    if kind not in NOISE_KINDS or value is None or not np.isfinite(value):
        raise UserError(
            f"{key}: {spec!r} must look like KIND:SNR_DB with KIND one of "
            f"{', '.join(NOISE_KINDS)} (e.g. white:10, babble:0)"
        )
    return kind, value
