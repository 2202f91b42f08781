"""External key-value memory stores: one API (:class:`MemoryStore`), one backend per module.

- :mod:`~amkit.memory.store.base`: the API, the file format, :class:`StoreRead`;
- :mod:`~amkit.memory.store.exact`: :class:`ExactMemoryStore` (torch, brute force);
- :mod:`~amkit.memory.store.faiss_index`: :class:`FaissMemoryStore` (FAISS flat or IVF).

:func:`make_store` builds one by backend name; ``MemoryStore.load(path)`` reads any.

Legend: N entries, Q queries, D key width (``dim``), Dv value width (``value_dim``),
k results per query.
"""

from __future__ import annotations

from typing import Any

from amkit.memory.store.base import STORES, MemoryStore, StoreRead
from amkit.memory.store.exact import ExactMemoryStore
from amkit.memory.store.faiss_index import FaissMemoryStore

__all__ = [
    "STORES",
    "ExactMemoryStore",
    "FaissMemoryStore",
    "MemoryStore",
    "StoreRead",
    "make_store",
]


def make_store(
    backend: str, dim: int, value_dim: int, metric: str = "ip", **params: Any
) -> MemoryStore:
    """Build a store by backend name.

    Args:
        backend: ``"exact"`` or ``"faiss"``.
        dim: D, key width.
        value_dim: Dv, value width.
        metric: ``"ip"`` or ``"cosine"``.
        **params: backend options: for ``"faiss"``, ``index`` (``"flat"``/``"ivf"``),
            ``nlist``, ``nprobe``; ``"exact"`` takes none.

    Example:
        >>> store = make_store("exact", dim=4, value_dim=2)
        >>> ids = store.write(torch.eye(4), torch.ones(4, 2))
        >>> store.read(torch.eye(4)[:1], k=2).ids.shape
        torch.Size([1, 2])
    """
    klass = STORES.get_or_raise(backend)
    allowed = {"faiss": ("index", "nlist", "nprobe")}.get(backend, ())
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise TypeError(
            f"unknown option(s) {unknown} for the {backend!r} store; it takes "
            f"{list(allowed) or 'no options'}"
        )
    return klass(dim, value_dim, metric, **params)
