"""Opening the text files users hand to readers: plain or gzip'd, UTF-8; and data files that
ship inside an installed (optional) package."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import IO


def open_text(path: str | Path, newline: str | None = None) -> IO[str]:
    """Open ``path`` for reading as UTF-8 text, through gzip when it ends in ``.gz``.

    ``newline=""`` is what the ``csv`` module wants.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    return opener(path, "rt", encoding="utf-8", newline=newline)


def package_file(package: str, relative: str, install_hint: str) -> Path:
    """``relative`` inside the installed ``package``; ``ModuleNotFoundError`` with
    ``install_hint`` (how to install it or what to pass instead) when it is absent."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the {package!r} package is not installed: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations))) / relative
