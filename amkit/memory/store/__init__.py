"""External key-value memory stores: one API (:class:`MemoryStore`), one backend per module.

- :mod:`~amkit.memory.store.base`: the API, the file format, :class:`StoreRead`;
- :mod:`~amkit.memory.store.exact`: :class:`ExactMemoryStore` (torch, brute force);
- :mod:`~amkit.memory.store.faiss_index`: :class:`FaissMemoryStore` (FAISS flat or IVF);
- :mod:`~amkit.memory.store.disk`: :class:`DiskMemoryStore` (FAISS IVF with its lists and rows
  on disk; larger than RAM), built from a stream by :func:`build_disk_store` (resumable);
- :mod:`~amkit.memory.store.sharded`: :class:`ShardedMemoryStore` (shards held by Ray actors,
  read in parallel, merged into one top-k).

:func:`make_store` builds one by backend name; ``MemoryStore.load(path)`` reads any.

Legend: N entries, Q queries, D key width (``dim``), Dv value width (``value_dim``),
k results per query.
"""

from __future__ import annotations

from typing import Any

from amkit.memory.store.base import STORES, MemoryStore, StoreRead
from amkit.memory.store.disk import DiskMemoryStore
from amkit.memory.store.disk_build import build_disk_store
from amkit.memory.store.exact import ExactMemoryStore
from amkit.memory.store.faiss_index import FaissMemoryStore
from amkit.memory.store.sharded import ShardedMemoryStore

__all__ = [
    "STORES",
    "DiskMemoryStore",
    "ExactMemoryStore",
    "FaissMemoryStore",
    "MemoryStore",
    "ShardedMemoryStore",
    "StoreRead",
    "build_disk_store",
    "make_store",
]


def make_store(
    backend: str, dim: int, value_dim: int, metric: str = "ip", **params: Any
) -> MemoryStore:
    """Build a store by backend name.

    Args:
        backend: ``"exact"``, ``"faiss"``, ``"disk"`` or ``"sharded"``.
        dim: D, key width.
        value_dim: Dv, value width.
        metric: ``"ip"`` or ``"cosine"``.
        **params: backend options: for ``"faiss"``, ``index`` (``"flat"``/``"ivf"``),
            ``nlist``, ``nprobe``; for ``"disk"``, ``path``, ``nlist``, ``nprobe``, ``codes``,
            ``coarse``, ``rerank`` (:class:`DiskMemoryStore`); for ``"sharded"``, ``shards``,
            ``shard_backend``, ``shard_params``, ``ray_address``, ``threads``
            (:class:`ShardedMemoryStore`); ``"exact"`` takes none.

    Example:
        >>> store = make_store("exact", dim=4, value_dim=2)
        >>> ids = store.write(torch.eye(4), torch.ones(4, 2))
        >>> store.read(torch.eye(4)[:1], k=2).ids.shape
        torch.Size([1, 2])
    """
    klass = STORES.get_or_raise(backend)
    allowed = {
        "faiss": ("index", "nlist", "nprobe"),
        "disk": ("path", "nlist", "nprobe", "codes", "coarse", "rerank"),
        "sharded": ("shards", "shard_backend", "shard_params", "ray_address", "threads"),
    }.get(backend, ())
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise TypeError(
            f"unknown option(s) {unknown} for the {backend!r} store; it takes "
            f"{list(allowed) or 'no options'}"
        )
    return klass(dim, value_dim, metric, **params)
