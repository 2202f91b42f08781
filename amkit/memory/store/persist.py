"""Saving a memory store as one directory, all or nothing.

Every backend writes its files into a temporary sibling of the target and swaps it in with
:func:`amkit.io.replace_directory`; :func:`saved_directory` is that shell, so a backend only
says what to write. A crash at any point leaves the previous copy (or nothing) in place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from amkit.io import fsync_path, replace_directory

META_FILE = "store.json"


def check_save_target(path: str | os.PathLike) -> Path:
    """``path`` as a Path whose parent exists, if a store may be saved there: it is missing,
    an empty directory, or a store (it has ``store.json``); else ``FileExistsError``."""
    path = Path(path)
    if path.exists() and not (
        path.is_dir() and ((path / META_FILE).is_file() or not any(path.iterdir()))
    ):
        raise FileExistsError(
            f"{path} exists and is not a memory store (no {META_FILE}); refusing to "
            "replace it: choose a new directory"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def saved_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``path``; on a clean exit, fsync every file
    in it and swap it in as ``path``; on an error, remove it and re-raise.

    ``path`` is checked first with :func:`check_save_target` (only a store or an empty
    directory is replaced).

    Example:
        >>> with saved_directory("runs/store") as tmp:  # doctest: +SKIP
        ...     save_file(tensors, str(tmp / "store.safetensors"))
    """
    path = check_save_target(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        for name in os.listdir(tmp):
            if (tmp / name).is_file():
                fsync_path(tmp / name)
        fsync_path(tmp)
        replace_directory(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
