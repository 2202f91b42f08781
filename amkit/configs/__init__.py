"""The experiment configs shipped with amkit, found by name.

Every YAML in this folder is ``<task>/<model>.yaml`` and its name is that path without the
suffix, so from an installed package::

    amkit train babi/memn2n_1k_joint
    amkit ls                              # lists every shipped name

In a clone of the repository the top-level ``configs/`` links to this folder, so the
documented ``amkit train configs/babi/memn2n_1k_joint.yaml`` works there as it is, and from
an installed package as well (a ``configs/`` path that is not on disk falls back to the
shipped config of the same name). A file that exists always wins over a shipped name.
"""

from __future__ import annotations

from pathlib import Path

from amkit.registry import did_you_mean

ROOT = Path(__file__).resolve().parent
"""The folder of the shipped configs: ``ROOT / "babi" / "memn2n_1k_joint.yaml"``."""
SUFFIX = ".yaml"

__all__ = ["ROOT", "config_names", "find_config"]


def config_names() -> list[str]:
    """The name of every shipped config, sorted: ``["babi/dnc_10k_joint", ...]``."""
    return sorted(p.relative_to(ROOT).with_suffix("").as_posix() for p in ROOT.rglob("*.yaml"))


def _as_name(text: str) -> str:
    """``configs/babi/x.yaml`` -> ``babi/x``: the shipped name a config argument may mean."""
    name = text.replace("\\", "/").strip("/")
    if name.startswith("./"):
        name = name[2:]
    if name.startswith("configs/"):
        name = name[len("configs/") :]
    return name.removesuffix(SUFFIX)


def find_config(name_or_path: str | Path) -> Path:
    """The YAML file that a config argument means.

    An existing file is returned as it is; otherwise the argument is read as a shipped
    config's name (``babi/memn2n_1k_joint``; a ``configs/`` prefix and a ``.yaml`` suffix are
    allowed, so the repository's paths work from an installed package too).

    Raises:
        FileNotFoundError: neither a file nor a shipped name; the message lists the nearest
            shipped names and says how to list them all.
    """
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    name = _as_name(str(name_or_path))
    shipped = ROOT / f"{name}{SUFFIX}"
    if name and shipped.is_file():
        return shipped
    names = config_names()
    raise FileNotFoundError(
        f"config file not found: {name_or_path}, and no shipped config is named {name!r}"
        f"{did_you_mean(name, names)}; `amkit ls` lists the shipped configs "
        "(e.g. babi/memn2n_1k_joint)"
    )
