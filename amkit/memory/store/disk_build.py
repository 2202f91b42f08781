"""Build a :class:`~amkit.memory.store.disk.DiskMemoryStore` from a stream of chunks, never
holding all the vectors, and resume the build by chunk after an interruption.

How: the IVF index is trained once (on ``train_keys``, a sample the caller draws at random
from the data, or else on the first chunk) and saved as ``trained.faiss``. Each chunk then
goes into a copy of that trained index (its codes only: a few bytes per key) saved as
``parts/part-NNNNNN.faiss``, its ids, values (and float16 keys for ``rerank``) are written at
their rows of the memory-mapped row files, and only then ``build.json`` records the chunk as
done. A process killed or a stream that raises mid-chunk leaves ``build.json`` at the last
whole chunk; calling :func:`build_disk_store` again with the same arguments skips the chunks
done (``islice`` of the stream, or ``chunks(start)`` when it is a function) and goes on.
When the stream ends, FAISS's ``merge_ondisk`` merges the parts into ``lists.ivfdata`` (the
parts are memory-mapped, so this too stays out of anonymous memory), the store's files are
written, and ``build.json``, ``trained.faiss`` and ``parts/`` are removed.

Anonymous memory: one chunk (its keys, values and codes) and the trained index; when the
chunks give their own ids, the end of the build also sorts them all once to refuse
duplicates (16 bytes per entry).

Legend: N entries, C entries per chunk, D key width, Dv value width.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from amkit.errors import UserError
from amkit.io import atomic_path, atomic_write_json, fsync_path
from amkit.memory.store.base import BUILD_FILE, META_FILE
from amkit.memory.store.disk import LISTS_FILE, DiskMemoryStore, _faiss_read, faiss_quiet
from amkit.memory.store.faiss_index import _import_faiss
from amkit.textfile import read_json

logger = logging.getLogger(__name__)

TRAINED_FILE, PARTS_DIR = "trained.faiss", "parts"
BUILD_FORMAT = "amkit.disk_store_build"

Chunk = tuple[Any, Any] | tuple[Any, Any, Any]


def _stream(chunks: Iterable[Chunk] | Callable[[int], Iterable[Chunk]], start: int):
    """The chunks from number ``start`` on."""
    if callable(chunks):
        return iter(chunks(start))
    return itertools.islice(iter(chunks), start, None)


def _write_rows(store: DiskMemoryStore, start: int, cols: dict[str, torch.Tensor]) -> None:
    """Write ``cols`` at rows ``start...`` of the row files (``pwrite``; then fsync)."""
    for name, (file, dtype, _) in store._row_files().items():
        data = np.ascontiguousarray(cols[name].numpy().astype(dtype, copy=False))
        row_bytes = data.itemsize * (data.shape[1] if data.ndim == 2 else 1)
        fd = os.open(store.path / file, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            os.pwrite(fd, data.tobytes(), start * row_bytes)
            os.fsync(fd)
        finally:
            os.close(fd)


def _config(store: DiskMemoryStore) -> dict[str, Any]:
    return {
        "dim": store.dim,
        "value_dim": store.value_dim,
        "metric": store.metric,
        "params": store._params(),
    }


def build_disk_store(
    path: str | os.PathLike,
    chunks: Iterable[Chunk] | Callable[[int], Iterable[Chunk]],
    dim: int,
    value_dim: int,
    metric: str = "ip",
    train_keys: Any = None,
    **params: Any,
) -> DiskMemoryStore:
    """Build (or resume building) an on-disk store in directory ``path`` from ``chunks``.

    Args:
        path: the store's directory: new or empty, or one whose build was interrupted
            (it holds ``build.json``), or a finished store (returned as it is).
        chunks: an iterable of ``(keys (C, D), values (C, Dv))`` or ``(keys, values, ids
            (C,))`` chunks, the same on every call; or a function ``chunks(start)`` that
            yields them from chunk number ``start`` on (so a resumed build need not make the
            skipped chunks again). Either every chunk gives ids or none does (then ids are
            0, 1, 2, ... in stream order).
        dim, value_dim, metric: as :class:`~amkit.memory.store.MemoryStore`.
        train_keys: ``(S, D)`` keys to train the IVF index on, drawn at random from the data;
            ``None`` trains on the first chunk (which should then be a fair sample).
        **params: :class:`~amkit.memory.store.disk.DiskMemoryStore` options (``nlist``,
            ``nprobe``, ``codes``, ``coarse``, ``rerank``).

    Returns:
        The finished store, opened from ``path``.
    """
    path = Path(path)
    faiss = _import_faiss()
    store = DiskMemoryStore._blank(path, dim, value_dim, metric, **params)
    config, state_file = _config(store), path / BUILD_FILE
    if (path / META_FILE).is_file() and not state_file.exists():
        shutil.rmtree(path / PARTS_DIR, ignore_errors=True)  # left by a build killed at its end
        (path / TRAINED_FILE).unlink(missing_ok=True)
        return DiskMemoryStore.load(path)  # type: ignore[return-value]
    if state_file.exists():
        state = read_json(state_file, fix="remove the directory and build again")
        if state.get("format") != BUILD_FORMAT or state.get("config") != config:
            theirs = state.get("config") or {}
            diff = sorted(k for k in set(config) | set(theirs) if config.get(k) != theirs.get(k))
            raise UserError(
                f"{state_file}: this build was started with other options "
                f"({', '.join(diff) or 'format'} differ: {theirs}); pass the same "
                "options to resume it, or build into a new directory"
            )
        trained = _faiss_read(path / TRAINED_FILE)
        logger.info(
            "resuming the build in %s after chunk %d (%d rows)",
            path,
            state["chunks_done"],
            state["rows"],
        )
    else:
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UserError(f"path {path}: exists and is not empty; build into a new directory")
        state = {
            "format": BUILD_FORMAT,
            "config": config,
            "chunks_done": 0,
            "rows": 0,
            "next_id": 0,
            "ids_given": None,
        }
        trained = None
    stream = _stream(chunks, state["chunks_done"])
    if trained is None:
        first = None
        if train_keys is None:
            first = next(stream, None)
            if first is None:
                raise UserError("chunks is empty and no train_keys were given: nothing to build")
            train_keys = first[0]
            stream = itertools.chain([first], stream)
        sample = store._prepare(store._matrix(train_keys, "train_keys", dim, "D", "S"))
        if len(sample) < store.nlist:
            raise UserError(
                f"train_keys: {len(sample)} keys for nlist={store.nlist} lists; "
                "give at least nlist (FAISS advises 39 per list) or lower nlist"
            )
        trained = store.make_index()
        trained.train(sample.numpy())
        path.mkdir(parents=True, exist_ok=True)
        (path / PARTS_DIR).mkdir(exist_ok=True)
        with atomic_path(path / TRAINED_FILE) as tmp:
            faiss.write_index(trained, str(tmp))
        atomic_write_json(state_file, state)
    for number, chunk in enumerate(stream, start=state["chunks_done"]):
        _add_chunk(store, trained, state, number, chunk)
        atomic_write_json(state_file, state)
        logger.info("chunk %d done: %d rows", number, state["rows"])
    return _finish(store, trained, state)


def _add_chunk(store: DiskMemoryStore, trained: Any, state: dict, number: int, chunk) -> None:
    """Index one chunk into its part file and write its rows; update ``state`` (in RAM)."""
    faiss = _import_faiss()
    if not isinstance(chunk, tuple | list) or len(chunk) not in (2, 3):
        raise UserError(
            f"chunk {number}: expected (keys, values) or (keys, values, ids), got "
            f"{type(chunk).__name__}"
        )
    keys = store._prepare(store._matrix(chunk[0], f"chunk {number} keys", store.dim, "D", "C"))
    values = store._matrix(chunk[1], f"chunk {number} values", store.value_dim, "Dv", "C")
    if len(values) != len(keys):
        raise UserError(f"chunk {number}: keys has {len(keys)} rows but values {len(values)}")
    given = len(chunk) == 3
    if state["ids_given"] is not None and given != state["ids_given"]:
        raise UserError(
            f"chunk {number} {'gives' if given else 'lacks'} ids but the chunks "
            "before it did not: give ids in every chunk or in none"
        )
    if given:
        ids = store._ids(chunk[2], name=f"chunk {number} ids", n=len(keys))
    else:
        ids = torch.arange(state["next_id"], state["next_id"] + len(keys))
    start = state["rows"]
    part = faiss.clone_index(trained)
    part.add_with_ids(keys.numpy(), np.arange(start, start + len(keys), dtype=np.int64))
    with atomic_path(store.path / PARTS_DIR / f"part-{number:06d}.faiss") as tmp:
        faiss.write_index(part, str(tmp))
    _write_rows(store, start, {"ids": ids, "values": values, "keys": keys})
    state.update(chunks_done=number + 1, rows=start + len(keys), ids_given=given)
    if len(ids):
        state["next_id"] = max(state["next_id"], int(ids.max()) + 1)


def _finish(store: DiskMemoryStore, trained: Any, state: dict) -> DiskMemoryStore:
    """Merge the parts into on-disk lists, write the store's files, remove the build's."""
    from faiss.contrib.ondisk import merge_ondisk

    faiss = _import_faiss()
    path, rows = store.path, state["rows"]
    parts = [str(path / PARTS_DIR / f"part-{i:06d}.faiss") for i in range(state["chunks_done"])]
    missing = [p for p in parts if not Path(p).is_file()]
    if missing:
        raise UserError(
            f"{missing[0]}: missing; the build cannot finish: build again into a new directory"
        )
    if state["ids_given"]:
        ids = np.memmap(path / "ids.bin", dtype=np.int64, mode="r", shape=(rows,))
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise UserError(
                f"the chunks' ids repeat, e.g. {uniq[counts > 1][:10].tolist()}; "
                "give each entry one id"
            )
    (path / LISTS_FILE).unlink(missing_ok=True)  # from a merge that was interrupted
    if rows:
        with faiss_quiet():
            merge_ondisk(trained, parts, str(path / LISTS_FILE))
        # FAISS's merge leaves the whole file on its free-slot list, so a later write would
        # put a grown list over the merged ones: take that slot (it is exactly the file)
        lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(trained).invlists)
        assert lists.allocate_slot(lists.totsize) == 0
        store._use_index(trained, on_disk=False)
    else:
        store._use_index(trained, on_disk=True)
    fsync_path(path / LISTS_FILE)
    store._attach_rows(rows, rows)
    store._live, store._next_id = rows, state["next_id"]
    store.flush()
    (path / BUILD_FILE).unlink()
    shutil.rmtree(path / PARTS_DIR, ignore_errors=True)
    (path / TRAINED_FILE).unlink(missing_ok=True)
    return DiskMemoryStore.load(path)  # type: ignore[return-value]
