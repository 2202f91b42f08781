"""Small generated data files shared by several test modules (each test writes its own copy
under its ``tmp_path``)."""

from __future__ import annotations

import random
from pathlib import Path


def write_hourly_csv(path: Path, hours: int = 120, seed: int = 0) -> Path:
    """``date,a,OT``: ``hours`` hourly rows from 2024-01-01 of two noisy daily cycles (``OT``
    follows ``a``), the layout of the ETT files."""
    rng = random.Random(seed)
    lines = ["date,a,OT"]
    for t in range(hours):
        day, hour = divmod(t, 24)
        a = (hour - 12) ** 2 / 50 + rng.random()
        lines.append(f"2024-01-{day + 1:02d} {hour:02d}:00:00,{a:.3f},{a / 2 + rng.random():.3f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_interactions_csv(path: Path, users: int = 30, items: int = 20, seed: int = 0) -> Path:
    """``user,item`` rows: each user ``u<N>`` with 5 to 9 random items ``1..items``."""
    rng = random.Random(seed)
    lines = ["user,item"]
    for u in range(users):
        lines += [f"u{u},{rng.randrange(1, items + 1)}" for _ in range(rng.randint(5, 9))]
    path.write_text("\n".join(lines) + "\n")
    return path
