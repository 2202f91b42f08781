"""The on-disk backend: a FAISS IVF index whose inverted lists live in a file, plus memory-mapped
rows, so a store can hold more entries than the machine has RAM.

Why this design. An external memory of 10^8 x 128-d keys is 51 GB as float32: it cannot sit in
RAM, and a brute-force scan reads all of it per query. An IVF index reads only the ``nprobe``
lists nearest a query; FAISS's ``OnDiskInvertedLists`` keeps those lists in one memory-mapped
file (``lists.ivfdata``), so they are page cache, never anonymous memory, and the operating
system keeps the hot lists in RAM. The lists hold compressed codes (``codes``: ``"SQ8"``, one
byte per dimension, 4x smaller than float32; ``"PQ32"``, 32 bytes per key, 16x smaller;
``"Flat"``, exact floats) so the files that a query touches fit the page cache far longer.
``rerank`` re-scores the best candidates of the codes against float16 copies of the keys
(``keys.f16.bin``, memory-mapped) when the codes alone are too coarse for the recall asked.
Ids and values are memory-mapped raw arrays (``ids.bin``, ``values.bin``) indexed by row; the
index files each entry under its row, so a read maps rows to ids and values without a lookup.

Anonymous memory stays bounded by what does not scale with N: the coarse centroids
(``nlist x D`` floats; with ``coarse="hnsw"`` their graph), the code tables, one write or
build chunk and its codes, and one batch of queries with its candidates. The id -> row lookup
(16 bytes per entry) is built only when ids are looked up (``write`` with ids, ``update``,
``delete``, ``in``); a read or a build from a stream never builds it.

Rows never move: a deleted entry's row keeps id ``-1``. Deleting or re-keying entries scans
every list (FAISS ``remove_ids``; no direct map is kept, which would cost RAM per entry), so
batch them. The store is its directory: writes change its files in place and :meth:`flush`
(also run by :meth:`save`) makes them durable; ``save(other)`` copies it elsewhere.

Build a large store from a stream with :func:`~amkit.memory.store.disk_build.build_disk_store`,
which resumes by chunk after an interruption.

Legend: N entries, Q queries, D key width, Dv value width, k results per query, R re-ranked
candidates per query.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from amkit.errors import UserError
from amkit.io import atomic_path, atomic_write_text, fsync_path
from amkit.memory.store.base import (
    BUILD_FILE,
    FORMAT,
    FORMAT_VERSION,
    INDEX_FILE,
    META_FILE,
    STORES,
    MemoryStore,
)
from amkit.memory.store.faiss_index import _import_faiss, faiss_quiet
from amkit.memory.store.persist import saved_directory

logger = logging.getLogger(__name__)

LISTS_FILE = "lists.ivfdata"
ROW_FILES = {
    "ids": ("ids.bin", np.int64),
    "values": ("values.bin", np.float32),
    "keys": ("keys.f16.bin", np.float16),
}
CODES = re.compile(r"^(Flat|SQ8|SQ4|SQfp16|PQ(\d+))$")
COARSE = ("flat", "hnsw")


def _positive(name: str, value: Any, zero_ok: bool = False) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if zero_ok else 1):
        raise UserError(
            f"{name} must be a {'non-negative' if zero_ok else 'positive'} int, got {value!r}"
        )


def _faiss_read(path: Path, flags: int = 0) -> Any:
    faiss = _import_faiss()
    if not path.is_file():
        raise UserError(f"{path}: missing; the on-disk store is incomplete: rebuild it")
    try:
        with faiss_quiet():
            return faiss.read_index(str(path), flags)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[-1][:200]
        raise UserError(
            f"{path}: not a readable FAISS index ({first}); rebuild the store"
        ) from None


@STORES.register("disk")
class DiskMemoryStore(MemoryStore):
    """Store whose index and rows live on disk (FAISS IVF, on-disk lists, memory-mapped rows).

    Args:
        dim, value_dim, metric: as :class:`MemoryStore`.
        path: the store's directory (created; must be missing or empty), or ``None`` for a
            temporary directory removed with the store. Open a saved one with
            ``MemoryStore.load(path)``.
        nlist: IVF lists; FAISS suggests ``4 * sqrt(N)`` to ``16 * sqrt(N)``.
        nprobe: lists searched per query (``nprobe == nlist`` scans every list); settable.
        codes: how the lists store keys: ``"Flat"`` (float32, exact scores), ``"SQ8"``
            (8-bit scalar quantizer), ``"SQ4"``, ``"SQfp16"`` or ``"PQm"`` (m bytes per key; m
            divides D).
        coarse: the coarse quantizer: ``"flat"`` (exact nearest centroids) or ``"hnsw"`` (an
            HNSW graph over the centroids: faster adds and reads for ``nlist`` in the tens
            of thousands).
        rerank: ``R > 0`` keeps float16 keys on disk and re-scores ``max(R, k)`` candidates
            per query with them; ``0`` returns the codes' scores.

    Like the FAISS IVF store, the index is trained before it holds entries: :meth:`train` on a
    sample, or the first :meth:`write` trains on its own keys (at least ``nlist`` of them).
    """

    backend = "disk"

    def __init__(
        self,
        dim: int,
        value_dim: int,
        metric: str = "ip",
        path: str | os.PathLike | None = None,
        nlist: int = 1024,
        nprobe: int = 16,
        codes: str = "SQ8",
        coarse: str = "flat",
        rerank: int = 0,
    ):
        super().__init__(dim, value_dim, metric)
        self._configure(nlist, nprobe, codes, coarse, rerank)
        if path is None:
            path = Path(tempfile.mkdtemp(prefix="amkit-disk-store-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, path, True)
        else:
            path = Path(path)
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise UserError(
                    f"path {path}: exists and is not empty; an on-disk store "
                    "needs a new directory (open a saved one with MemoryStore.load)"
                )
            path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._index = self.make_index()
        self._attach_rows(rows=0, capacity=0)
        self._live = 0
        self.nprobe = nprobe

    # ------------------------------------------------------------------ configuration
    def _configure(self, nlist: int, nprobe: int, codes: str, coarse: str, rerank: int) -> None:
        _positive("nlist", nlist)
        _positive("nprobe", nprobe)
        _positive("rerank", rerank, zero_ok=True)
        match = CODES.match(codes) if isinstance(codes, str) else None
        if not match:
            raise UserError(f"codes must be Flat, SQ8, SQ4, SQfp16 or PQm (m bytes), got {codes!r}")
        if match.group(2) and self.dim % int(match.group(2)):
            raise UserError(f"codes {codes}: m ({match.group(2)}) must divide dim ({self.dim})")
        if coarse not in COARSE:
            raise UserError(f"coarse must be one of {COARSE}, got {coarse!r}")
        if nprobe > nlist:
            raise UserError(f"nprobe ({nprobe}) must be <= nlist ({nlist})")
        self.nlist, self.codes, self.coarse, self.rerank = nlist, codes, coarse, rerank
        self._nprobe = nprobe

    @classmethod
    def _blank(
        cls,
        path: str | os.PathLike,
        dim: int,
        value_dim: int,
        metric: str = "ip",
        nlist: int = 1024,
        nprobe: int = 16,
        codes: str = "SQ8",
        coarse: str = "flat",
        rerank: int = 0,
    ) -> DiskMemoryStore:
        """A configured store object at ``path`` that has neither files nor an index yet."""
        store = cls.__new__(cls)
        MemoryStore.__init__(store, dim, value_dim, metric)
        store._configure(nlist, nprobe, codes, coarse, rerank)
        store.path = Path(path)
        return store

    def make_index(self) -> Any:
        """A new, untrained FAISS index of this store's configuration (lists in RAM)."""
        faiss = _import_faiss()
        quantizer = f"IVF{self.nlist}" + ("_HNSW32" if self.coarse == "hnsw" else "")
        index = faiss.index_factory(
            self.dim, f"{quantizer},{self.codes}", faiss.METRIC_INNER_PRODUCT
        )
        index.cp.min_points_per_centroid = 1  # we warn about small samples ourselves
        if hasattr(index, "do_polysemous_training"):
            index.do_polysemous_training = False  # minutes of annealing; only for Hamming search
        return index

    @property
    def nprobe(self) -> int:
        """IVF lists searched per query."""
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        _positive("nprobe", value)
        if value > self.nlist:
            raise UserError(f"nprobe ({value}) must be <= nlist ({self.nlist})")
        self._nprobe = value
        _import_faiss().extract_index_ivf(self._index).nprobe = value

    @property
    def is_trained(self) -> bool:
        return bool(self._index.is_trained)

    def _params(self) -> dict[str, Any]:
        return {
            "nlist": self.nlist,
            "nprobe": self.nprobe,
            "codes": self.codes,
            "coarse": self.coarse,
            "rerank": self.rerank,
        }

    # ------------------------------------------------------------------ rows on disk
    def _row_files(self) -> dict[str, tuple[str, Any, int]]:
        """``{column: (file name, dtype, width)}`` of the memory-mapped row arrays."""
        files = {"ids": (*ROW_FILES["ids"], 0), "values": (*ROW_FILES["values"], self.value_dim)}
        if self.rerank:
            files["keys"] = (*ROW_FILES["keys"], self.dim)
        return files

    def _attach_rows(self, rows: int, capacity: int) -> None:
        """Map the row files (grown to ``capacity`` rows) as this store's columns."""
        self._maps: dict[str, np.memmap] = {}
        for name, (file, dtype, width) in self._row_files().items():
            path = self.path / file
            row_bytes = np.dtype(dtype).itemsize * max(width, 1)
            if not path.exists():
                path.touch()
            if path.stat().st_size < capacity * row_bytes:
                os.truncate(path, capacity * row_bytes)  # sparse: no disk used until written
            shape = (capacity, width) if width else (capacity,)
            if capacity:
                self._maps[name] = np.memmap(path, dtype=dtype, mode="r+", shape=shape)
        self._capacity = capacity
        self._cols = {
            name: torch.from_numpy(self._maps[name] if capacity else np.empty(shape, dtype))
            for name, (_, dtype, width) in self._row_files().items()
            for shape in [(0, width) if width else (0,)]
        }
        self._n = rows

    def _append(self, **cols: Tensor) -> None:
        """Write new rows at the end, growing the files geometrically."""
        m = len(cols["ids"])
        need = self._n + m
        if need > self._capacity:
            self._flush_rows()
            self._attach_rows(self._n, max(need, 2 * self._capacity, 1024))
        start = self._n
        self._cols["ids"][start:need] = cols["ids"]
        self._cols["values"][start:need] = cols["values"]
        if self.rerank:
            self._cols["keys"][start:need] = cols["keys"].half()
        if self._sorted is not None and (not start or cols["ids"].min() > self._sorted[0][-1]):
            new_ids, order = cols["ids"].sort()  # ids past every stored one: still sorted
            self._sorted = (
                torch.cat([self._sorted[0], new_ids]),
                torch.cat([self._sorted[1], order + start]),
            )
        else:
            self._sorted = None
        self._n, self._live = need, self._live + m

    def _remove_rows(self, rows: Tensor) -> None:
        self._index.remove_ids(rows.numpy())
        self._cols["ids"][rows] = -1  # a tombstone: rows never move
        self._live -= len(rows)
        self._sorted = None

    def _flush_rows(self) -> None:
        for array in self._maps.values():
            array.flush()

    def __len__(self) -> int:
        return self._live

    def ids(self) -> Tensor:
        """``(N,)`` int64 ids of the stored entries, in row order."""
        ids = self._cols["ids"][: self._n]
        return ids[ids >= 0].clone()

    @property
    def nbytes(self) -> int:
        """Bytes the store's files take on disk (rows, lists, index header; the unused
        capacity that writes reserve in sparse files is not counted)."""
        return sum(p.stat().st_blocks * 512 for p in self.path.iterdir() if p.is_file())

    # ------------------------------------------------------------------ the index
    def train(self, keys: Any) -> DiskMemoryStore:
        """Train the coarse quantizer and the codes on a sample ``keys`` ``(N, D)``.

        Take the sample at random from the data (FAISS advises 39 to 256 keys per list).
        Refused once the store holds entries.
        """
        if self._n:
            raise UserError("the on-disk index already holds entries; train before writing")
        keys = self._prepare(self._matrix(keys, "keys", self.dim, "D"))
        if len(keys) < self.nlist:
            raise UserError(
                f"training an IVF index with nlist={self.nlist} needs at least {self.nlist} "
                f"keys, got {len(keys)}; train on more keys or lower nlist"
            )
        if len(keys) < 39 * self.nlist:
            logger.warning(
                "training IVF with %d keys for %d lists; FAISS advises at least %d",
                len(keys),
                self.nlist,
                39 * self.nlist,
            )
        index = self.make_index()
        index.train(keys.numpy())
        self._use_index(index, on_disk=True)
        return self

    def _use_index(self, index: Any, on_disk: bool) -> None:
        """Adopt ``index`` (trained); ``on_disk`` moves its (empty) lists to ``lists.ivfdata``."""
        faiss = _import_faiss()
        if on_disk:
            ivf = faiss.extract_index_ivf(index)
            lists = faiss.OnDiskInvertedLists(ivf.nlist, ivf.code_size, str(self.path / LISTS_FILE))
            ivf.replace_invlists(lists, True)
            lists.this.disown()  # the index owns it now
        self._index = index
        self.nprobe = self._nprobe

    def _index_add(self, ids: Tensor, keys: Tensor) -> None:
        if not self._index.is_trained:
            self.train(keys)
        rows = torch.arange(self._n, self._n + len(keys))  # where _append puts them
        with faiss_quiet():  # lists that grow resize the file
            self._index.add_with_ids(keys.numpy(), rows.numpy())

    def _index_replace(self, rows: Tensor, ids: Tensor, keys: Tensor) -> None:
        self._index.remove_ids(rows.numpy())
        with faiss_quiet():
            self._index.add_with_ids(keys.numpy(), rows.numpy())
        if self.rerank:
            self._cols["keys"][rows] = keys.half()

    def _index_remove(self, ids: Tensor) -> None:
        pass  # _remove_rows removes by row

    def _search(self, queries: Tensor, k: int) -> tuple[Tensor, Tensor]:
        want = max(k, self.rerank)
        scores, rows = self._index.search(queries.numpy(), want)  # (Q, R) each
        scores, rows = torch.from_numpy(scores), torch.from_numpy(rows)
        if self.rerank:
            real = rows >= 0
            keys = self._cols["keys"][rows.clamp(min=0).flatten()].float()  # (Q * R, D)
            exact = (keys.view(*rows.shape, self.dim) @ queries.unsqueeze(-1)).squeeze(-1)
            scores = exact.masked_fill(~real, float("-inf"))  # (Q, R)
        top, at = scores.topk(k, dim=1)  # (Q, k)
        rows = rows.gather(1, at)
        return top, rows.masked_fill(top == float("-inf"), -1)

    # ------------------------------------------------------------------ save / load
    def _meta(self) -> dict[str, Any]:
        names = [LISTS_FILE, INDEX_FILE] if self._index.is_trained else []
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "backend": self.backend,
            "metric": self.metric,
            "dim": self.dim,
            "value_dim": self.value_dim,
            "size": self._live,
            "next_id": self._next_id,
            "params": self._params(),
            "rows": self._n,
            "files": names + [f for f, _, _ in self._row_files().values()],
        }

    def flush(self) -> None:
        """Make every change durable: rows synced, index header and ``store.json`` rewritten."""
        self._flush_rows()
        if self._index.is_trained:
            faiss = _import_faiss()
            lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(self._index).invlists)
            where, lists.filename = lists.filename, LISTS_FILE  # the file names no directory
            try:
                with atomic_path(self.path / INDEX_FILE) as tmp:
                    faiss.write_index(self._index, str(tmp))
            finally:
                lists.filename = where
            if (self.path / LISTS_FILE).exists():
                fsync_path(self.path / LISTS_FILE)
        atomic_write_text(self.path / META_FILE, json.dumps(self._meta(), indent=2) + "\n")

    def save(self, path: str | os.PathLike) -> Path:
        """:meth:`flush`; to another directory, copy the store there atomically."""
        path = Path(path)
        self.flush()
        if path.exists() and path.resolve() == self.path.resolve():
            return path
        with saved_directory(path) as tmp:
            for name in self._meta()["files"]:
                shutil.copyfile(self.path / name, tmp / name)
            rows = self._row_files()
            for file, dtype, width in rows.values():  # no spare capacity in the copy
                os.truncate(tmp / file, self._n * np.dtype(dtype).itemsize * max(width, 1))
            shutil.copyfile(self.path / META_FILE, tmp / META_FILE)
        return path

    @classmethod
    def _open(cls, path: Path, meta: dict[str, Any]) -> DiskMemoryStore:
        """Open the store in ``path`` in place (files memory-mapped, nothing read into RAM)."""
        faiss = _import_faiss()
        if (path / BUILD_FILE).exists():
            raise UserError(
                f"{path / BUILD_FILE}: the build of this store did not finish; "
                "run build_disk_store again with the same stream to resume it"
            )
        try:
            store = cls._blank(
                path, meta["dim"], meta["value_dim"], meta["metric"], **meta["params"]
            )
        except TypeError as error:
            raise UserError(
                f"{path / META_FILE}: bad params ({error}); rebuild the store"
            ) from None
        rows = meta.get("rows")
        if not isinstance(rows, int) or rows < meta["size"]:
            raise UserError(f"{path / META_FILE}: rows missing or below size; rebuild the store")
        for file, dtype, width in store._row_files().values():
            need = rows * np.dtype(dtype).itemsize * max(width, 1)
            got = (path / file).stat().st_size if (path / file).is_file() else -1
            if got < need:
                raise UserError(
                    f"{path / file}: {'missing' if got < 0 else f'{got} bytes'}, "
                    f"expected at least {need}; the store files do not fit together"
                )
        store._attach_rows(rows, rows)
        store._live = meta["size"]
        store._next_id = meta["next_id"]
        if (path / INDEX_FILE).exists() or rows:
            lists = path / LISTS_FILE
            if not lists.is_file():
                raise UserError(f"{lists}: missing; the on-disk store is incomplete: rebuild it")
            index = _faiss_read(path / INDEX_FILE, faiss.IO_FLAG_ONDISK_SAME_DIR)
            ivf = faiss.try_extract_index_ivf(index)
            ondisk = ivf and faiss.downcast_InvertedLists(ivf.invlists)
            if not isinstance(ondisk, faiss.OnDiskInvertedLists):
                raise UserError(f"{path / INDEX_FILE}: not an on-disk IVF index; rebuild the store")
            if ondisk.totsize > lists.stat().st_size:
                raise UserError(
                    f"{lists}: {lists.stat().st_size} bytes, the index needs "
                    f"{ondisk.totsize}; it is truncated: rebuild the store"
                )
            if index.d != store.dim or index.ntotal != store._live:
                raise UserError(
                    f"{path / INDEX_FILE} holds {index.ntotal} vectors of width {index.d}, "
                    f"expected {store._live} of width {store.dim}; the store files do not fit"
                )
            store._index = index
        else:
            store._index = store.make_index()
        store.nprobe = store._nprobe
        return store
