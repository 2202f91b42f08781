"""Atomic writes: every file amkit writes goes through here.

A write goes to a temp file in the destination's folder, is flushed to disk, then renamed
over the destination (``os.replace``, atomic on POSIX and Windows). An interrupted write
never leaves a half-written file: the old copy stays until the new one is complete.
Nothing here pickles; tensors go to safetensors, everything else to text.

For tests of crash safety, :func:`fault_point` marks named points (each write's temp file
complete but not yet renamed, the rename done, each training step) where the environment
variable ``AMKIT_FAULT`` makes the process kill itself or fail as a full disk would.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

from amkit.errors import UserError

__all__ = [
    "fault_point",
    "folder_lock",
    "remove_temp_files",
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


TEMP_SUFFIX = ".tmp"  # atomic_path's temp files: .NAME.RANDOM.tmp beside NAME
_UMASK = os.umask(0o022)  # read it (os.umask only sets) and put it back
os.umask(_UMASK)

FAULT_ENV = "AMKIT_FAULT"  # ACTION:N[:PREFIX], see fault_point
FAULT_TRACE_ENV = "AMKIT_FAULT_TRACE"  # a file that gets the name of every point reached
_fault_counts: dict[str, int] = {}


def fault_point(name: str) -> None:
    """A point where a test may inject a fault; does nothing unless ``AMKIT_FAULT`` is set.

    ``AMKIT_FAULT=ACTION:N[:PREFIX]``: at the ``N``-th point (1-based, counted in this
    process) whose name starts with ``PREFIX`` (default: every point), ``kill`` sends this
    process SIGKILL (as a crash or ``kill -9`` would) and ``enospc`` raises
    ``OSError(ENOSPC)`` (a full disk). ``AMKIT_FAULT_TRACE=FILE`` appends each point's name
    to ``FILE``. Names: ``write:FILE:temp`` (the temp file of ``FILE`` written, not yet
    renamed), ``write:FILE:done`` (renamed), ``train:step`` (after an optimizer step).
    """
    trace = os.environ.get(FAULT_TRACE_ENV)
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:  # a test's log, not a user file
            handle.write(name + "\n")
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    action, count, prefix = (spec.split(":", 2) + [""])[:3]
    if not name.startswith(prefix):
        return
    _fault_counts[spec] = _fault_counts.get(spec, 0) + 1
    if _fault_counts[spec] != int(count):
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "enospc":
        raise OSError(errno.ENOSPC, f"No space left on device (injected at {name})")
    else:
        raise ValueError(f"{FAULT_ENV}={spec!r}: the action must be kill or enospc")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on a clean exit it is renamed over ``path``.

    For writers that want a file name rather than bytes (``savefig``, safetensors'
    ``save_file``, ``shutil.copyfile``). On an exception the temp file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp's 0600 would make every written file private; set after the writer, as
        # some (safetensors' save_file) replace the temp file with a new 0600 one
        os.chmod(tmp, 0o666 & ~_UMASK)
        fsync_path(tmp)
        fault_point(f"write:{path.name}:temp")
        os.replace(tmp, path)
        fault_point(f"write:{path.name}:done")
    finally:
        Path(tmp).unlink(missing_ok=True)


def remove_temp_files(folder: str | Path) -> list[Path]:
    """Remove the temp files that writes into ``folder`` left when their process was killed
    mid-write (never the files they were replacing); returns what was removed. Call it only
    while no other process writes into ``folder`` (a run holds its lock)."""
    removed = []
    for tmp in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextmanager
def folder_lock(folder: str | Path, what: str = "run") -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (its ``.amkit.lock`` file) while the block runs.

    A second process that asks for the same folder gets a :class:`UserError` at once,
    naming the folder and the process holding it. The lock dies with its process (a
    killed run leaves no stale lock). Where ``fcntl`` is missing (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".amkit.lock", "a+", encoding="utf-8")  # noqa: SIM115
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UserError(
                f"{folder} is in use by {holder}: another amkit {what} writes into it; wait for "
                "it to finish (or stop it), or choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


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
    from safetensors.torch import save_file  # torch loads on first use, not with amkit.io

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
    from safetensors.torch import load_file  # torch loads on first use, not with amkit.io

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
