"""Atomic writes: every file amkit writes goes through here.

A write goes to a temp file in the destination's folder, is flushed to disk, then renamed
over the destination (``os.replace``, atomic on POSIX and Windows). An interrupted write
never leaves a half-written file: the old copy stays until the new one is complete.
Nothing here pickles; tensors go to safetensors, everything else to text.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from amkit.errors import UserError

__all__ = [
    "atomic_copy",
    "atomic_path",
    "atomic_save_figure",
    "atomic_save_tensors",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "read_tensors",
    "read_tensor_metadata",
    "fsync_path",
    "replace_directory",
    "directory_backup",
]


def fsync_path(path: str | Path) -> None:
    """Flush a file or a folder (its entries: a rename inside it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on a clean exit it is renamed over ``path``.

    For writers that want a file name rather than bytes (``savefig``, safetensors'
    ``save_file``, ``shutil.copyfile``). On an exception the temp file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` as UTF-8, atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON (keys in insertion order), atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_copy(source: str | Path, path: str | Path) -> None:
    """Copy file ``source`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)


def atomic_save_tensors(
    path: str | Path, tensors: dict[str, Any], metadata: dict[str, str] | None = None
) -> None:
    """Save a ``{name: tensor}`` dict as safetensors, atomically.

    safetensors refuses tensors that share storage (tied weights), so each is stored as a
    contiguous copy.
    """
    copies = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(copies, str(tmp), metadata=metadata)


def atomic_save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Write a matplotlib figure as PNG atomically, then close it; returns ``path``."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return path


def directory_backup(path: str | Path) -> Path:
    """Where :func:`replace_directory` parks the old copy of ``path`` between its renames."""
    path = Path(path)
    return path.parent / f".{path.name}.old"


def replace_directory(new: str | Path, path: str | Path) -> None:
    """Replace folder ``path`` by folder ``new`` (a sibling) with two renames.

    Between the renames only the backup (:func:`directory_backup`) exists: a reader falls
    back to it, and the next call restores it first.
    """
    new, path = Path(new), Path(path)
    backup = directory_backup(path)
    if backup.exists():
        if path.exists():  # stale: an earlier call stopped after its second rename
            shutil.rmtree(backup)
        else:  # an earlier call stopped between its renames: the backup is the last copy
            os.rename(backup, path)
    if path.exists():
        os.rename(path, backup)
        try:
            os.rename(new, path)
        except BaseException:
            os.rename(backup, path)
            raise
        shutil.rmtree(backup)
    else:
        os.rename(new, path)
    fsync_path(path.parent)


def read_tensors(path: str | Path) -> dict[str, Any]:
    """Read a safetensors file as ``{name: tensor}`` (never unpickles).

    Raises:
        FileNotFoundError: no file at ``path``.
        UserError: the file is not a whole safetensors file (truncated, another format such
            as a pickle, or corrupt); the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return load_file(str(path))
    except (SafetensorError, ValueError, OSError, RuntimeError) as error:
        raise _unreadable(path, error) from None


def read_tensor_metadata(path: str | Path) -> dict[str, str]:
    """The ``{key: text}`` metadata of a safetensors file (``{}`` when it has none); errors as
    :func:`read_tensors`'."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, ValueError, OSError, RuntimeError) as error:
        raise _unreadable(path, error) from None


def _unreadable(path: Path, error: Exception) -> UserError:
    return UserError(
        f"{path}: not a readable safetensors file ({error}); it may be truncated or of "
        "another format (amkit never loads pickles): restore it, or retrain"
    )
