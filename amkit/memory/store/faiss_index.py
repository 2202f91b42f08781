"""The FAISS backend (``pip install amkit[faiss]``): ``"flat"`` (exact, ``IndexIDMap2`` over
``IndexFlatIP``) or ``"ivf"`` (approximate, ``IndexIVFFlat``, which keeps the user's ids
itself; ``nlist`` lists, ``nprobe`` of them searched per query). The index is saved as
``index.faiss`` (``faiss.write_index``, FAISS's own binary format; nothing is pickled).

Legend: N entries, Q queries, D key width, k results per query.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from amkit.errors import UserError
from amkit.memory.store.base import INDEX_FILE, STORES, MemoryStore

logger = logging.getLogger(__name__)

FAISS_INDEXES = ("flat", "ivf")
FAISS_HINT = "pip install 'amkit[faiss]' (or pip install faiss-cpu)"


def _import_faiss() -> Any:
    try:
        import faiss
    except ImportError as err:
        raise ImportError(f"the FAISS memory store needs faiss: {FAISS_HINT}") from err
    return faiss


@contextlib.contextmanager
def faiss_quiet() -> Iterator[None]:
    """Send what FAISS's C++ code prints to stdout (``resizing FILE to N bytes``, the
    on-disk file name on every read) to /dev/null while the block runs, so it never mixes
    with a command's own output."""
    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        libc.fflush(None)  # C stdio's buffer goes to /dev/null, not later to the terminal
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


@STORES.register("faiss")
class FaissMemoryStore(MemoryStore):
    """Store backed by a FAISS index (``faiss-cpu``; ``pip install amkit[faiss]``).

    Args:
        dim, value_dim, metric: as :class:`MemoryStore`.
        index: ``"flat"`` (exact search) or ``"ivf"`` (inverted lists, approximate).
        nlist: IVF lists; FAISS suggests ``4 * sqrt(N)`` to ``16 * sqrt(N)``.
        nprobe: IVF lists searched per query (``nprobe == nlist`` is exact); settable later.

    An IVF index must be trained before it holds entries: :meth:`train` on a sample of keys
    (FAISS advises 39 to 256 per list), or the first :meth:`write` trains on its own keys,
    which then must number at least ``nlist``.
    """

    backend = "faiss"

    def __init__(
        self,
        dim: int,
        value_dim: int,
        metric: str = "ip",
        index: str = "flat",
        nlist: int = 1024,  # ~4 * sqrt(N) for N ~ 65k; pick it for your size
        nprobe: int = 16,
    ):
        faiss = _import_faiss()
        if index not in FAISS_INDEXES:
            raise UserError(f"index must be one of {FAISS_INDEXES}, got {index!r}")
        for name, value in (("nlist", nlist), ("nprobe", nprobe)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UserError(f"{name} must be a positive int, got {value!r}")
        super().__init__(dim, value_dim, metric)
        self.index_type, self.nlist = index, nlist
        spec = "IDMap2,Flat" if index == "flat" else f"IVF{nlist},Flat"
        self._index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
        if index == "ivf":
            # FAISS prints its own warning for small training sets; we log one instead.
            self._index.cp.min_points_per_centroid = 1
        self.nprobe = nprobe

    @property
    def nprobe(self) -> int:
        """IVF lists searched per query (1 for a flat index)."""
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserError(f"nprobe must be a positive int, got {value!r}")
        self._nprobe = value
        if self.index_type == "ivf":
            if value > self.nlist:
                raise UserError(f"nprobe ({value}) must be <= nlist ({self.nlist})")
            _import_faiss().extract_index_ivf(self._index).nprobe = value

    @property
    def is_trained(self) -> bool:
        return bool(self._index.is_trained)

    @property
    def nbytes(self) -> int:
        codes = self._index.ntotal * (4 * self.dim + 8)  # float32 vectors + int64 ids
        centroids = self.nlist * self.dim * 4 if self.index_type == "ivf" else 0
        return super().nbytes + codes + centroids

    def _params(self) -> dict[str, Any]:
        return {"index": self.index_type, "nlist": self.nlist, "nprobe": self.nprobe}

    def train(self, keys: Any) -> FaissMemoryStore:
        """Train the IVF coarse quantizer (k-means, ``nlist`` centroids) on ``keys`` ``(N, D)``.

        A no-op for a flat index. Training again after entries exist is refused: they are
        filed under the current centroids.
        """
        if self.index_type != "ivf":
            return self
        if self._index.ntotal:
            raise UserError("the IVF index already holds entries; train before writing")
        keys = self._prepare(self._matrix(keys, "keys", self.dim, "D"))
        if len(keys) < self.nlist:
            raise UserError(
                f"training an IVF index with nlist={self.nlist} needs at least {self.nlist} "
                f"keys, got {len(keys)}; write or train on more keys, lower nlist, or use "
                "index='flat'"
            )
        if len(keys) < 39 * self.nlist:
            logger.warning(
                "training IVF with %d keys for %d lists; FAISS advises at least %d",
                len(keys),
                self.nlist,
                39 * self.nlist,
            )
        self._index.reset()
        self._index.train(keys.numpy())
        return self

    def _index_add(self, ids: Tensor, keys: Tensor) -> None:
        if not self._index.is_trained:
            self.train(keys)
        self._index.add_with_ids(keys.numpy(), ids.numpy())

    def _index_replace(self, rows: Tensor, ids: Tensor, keys: Tensor) -> None:
        self._index.remove_ids(ids.numpy())
        self._index.add_with_ids(keys.numpy(), ids.numpy())

    def _index_remove(self, ids: Tensor) -> None:
        removed = self._index.remove_ids(ids.numpy())
        assert removed == len(ids), (removed, len(ids))

    def _search(self, queries: Tensor, k: int) -> tuple[Tensor, Tensor]:
        scores, ids = self._index.search(queries.numpy(), k)  # (Q, k) each
        scores, ids = torch.from_numpy(scores), torch.from_numpy(ids)
        real = ids >= 0
        rows, found = self._rows_of(ids.flatten().clamp(min=0))
        assert bool(found.view_as(ids)[real].all()), "FAISS returned an id the store lacks"
        return scores, rows.view_as(ids).masked_fill(~real, -1)

    def _save_index(self, directory: Path) -> list[str]:
        _import_faiss().write_index(self._index, str(directory / INDEX_FILE))
        return [INDEX_FILE]

    def _load_index(self, directory: Path) -> None:
        index = _import_faiss().read_index(str(directory / INDEX_FILE))
        if index.d != self.dim or index.ntotal != self._n:
            raise UserError(
                f"{directory / INDEX_FILE} holds {index.ntotal} vectors of width {index.d}, "
                f"expected {self._n} of width {self.dim}; the store files do not fit together"
            )
        self._index = index
        self.nprobe = self._nprobe
