"""The sharded backend: entries spread over shards held by Ray actors (``pip install
amkit[ray]``), for memories that outgrow one machine.

Entry ``id`` lives on shard ``id % shards``, itself any store (``shard_backend``: exact, FAISS,
on disk) in a Ray actor. A read sends the queries to every shard at once, each returns its own
top-k, and the ``shards * k`` candidates are merged into one top-k by score; exact shards give
exactly the answers of one exact store. Writes, updates and deletes go to the shards that hold
the ids. The actors run wherever Ray places them: ``ray_address`` joins a cluster (the same
one as ``amkit sweep --backend ray``); without it a local Ray starts (or the running one is
used). Idle shard actors are kept for the next store of this process, so building stores
again does not start new processes.

``save(path)`` writes ``store.json`` and one directory per shard (``shard-000``, ...), each
written by its actor: on a cluster, ``path`` must be on storage every node sees.

Legend: N entries, Q queries, D key width, Dv value width, k results per query, S shards.
"""

from __future__ import annotations

import json
import os
import socket
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from amkit.errors import UserError
from amkit.memory.store.base import (
    META_FILE,
    PAD_ID,
    STORES,
    MemoryStore,
    StoreRead,
)
from amkit.memory.store.persist import saved_directory

_IDLE: list[Any] = []  # shard actors of the current Ray session, free for the next store
_IDLE_JOB: list[Any] = [None]  # the Ray job those actors belong to


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("the sharded memory store needs Ray: pip install 'amkit[ray]'") from None
    return ray


def check_ray_address(address: str, timeout_s: float = 5.0) -> None:
    """``ray_address`` (``host:port`` or ``ray://host:port``) must answer within
    ``timeout_s``; Ray itself retries for minutes before it gives up."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"ray_address {address}: expected HOST:PORT (e.g. 10.0.0.1:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise UserError(
            f"ray_address {address}: cannot join Ray (no answer: {error}); start the cluster "
            "with `ray start --head`, or leave ray_address out for a local Ray"
        ) from None


def _ensure_ray(address: str | None) -> Any:
    ray = _import_ray()
    if address not in (None, "auto", "local"):
        check_ray_address(address)
    if ray.is_initialized():
        return ray
    try:
        ray.init(
            address=address, include_dashboard=False, log_to_driver=False, configure_logging=False
        )
    except (Exception, SystemExit) as error:  # Ray exits when it cannot connect
        where = f"ray_address {address}" if address else "a local Ray"
        raise UserError(f"{where}: cannot start or join Ray ({error})") from None
    return ray


class _Shard:
    """What runs in one Ray actor: a store and the calls on it (plain tensors in and out)."""

    def __init__(self) -> None:
        self.store: MemoryStore | None = None

    def open(
        self,
        threads: int,
        backend: str,
        dim: int,
        value_dim: int,
        metric: str,
        params: dict[str, Any],
        path: str | None = None,
    ) -> int:
        from amkit.memory.store import make_store

        torch.set_num_threads(threads)
        if backend in ("faiss", "disk"):
            import faiss

            faiss.omp_set_num_threads(threads)
        if path is not None:
            self.store = MemoryStore.load(path)
        else:
            self.store = make_store(backend, dim, value_dim, metric, **params)
        return len(self.store)

    def close(self) -> None:
        self.store = None

    def call(self, method: str, *args: Any, **kwargs: Any) -> tuple[Any, int]:
        """``store.method(*args, **kwargs)`` and the store's size after it."""
        out = getattr(self.store, method)(*args, **kwargs)
        return (tuple(out) if isinstance(out, StoreRead) else out), len(self.store)

    def nbytes(self) -> int:
        return self.store.nbytes

    def missing(self, ids: Tensor) -> Tensor:
        return torch.tensor([int(i) not in self.store for i in ids], dtype=torch.bool)


def start_actors(count: int) -> None:
    """Start ``count`` idle shard actors now, in parallel, for the stores to come (each new
    actor is a Python process that imports torch: seconds)."""
    ray = _ensure_ray(None)
    job = ray.get_runtime_context().get_job_id()
    if _IDLE_JOB[0] != job:
        _IDLE.clear()
        _IDLE_JOB[0] = job
    new = [ray.remote(_Shard).remote() for _ in range(count)]
    ray.get([a.close.remote() for a in new])
    _IDLE.extend(new)


class _Closed:
    """Stands in for the actors of a closed store: any use is a clear error."""

    def _closed(self, *args: Any) -> Any:
        raise UserError("this sharded store is closed; open it again with MemoryStore.load")

    __iter__ = __getitem__ = __len__ = _closed


def _release(actors: list[Any], job: Any) -> None:
    """Empty the actors and keep them for the next store of this Ray session."""
    ray = _import_ray()
    if not ray.is_initialized() or job != ray.get_runtime_context().get_job_id():
        return
    for actor in actors:
        actor.close.remote()
    if _IDLE_JOB[0] != job:
        _IDLE.clear()
        _IDLE_JOB[0] = job
    _IDLE.extend(actors)


@STORES.register("sharded")
class ShardedMemoryStore(MemoryStore):
    """Store split over ``shards`` Ray actors; reads query them in parallel and merge.

    Args:
        dim, value_dim, metric: as :class:`MemoryStore`.
        shards: S, the number of shards (actors).
        shard_backend: the backend of each shard (``"exact"``, ``"faiss"``, ``"disk"``).
        shard_params: its options (:func:`make_store`), the same for every shard; a disk
            shard's ``path`` is not allowed (each shard gets a temporary directory; save the
            sharded store to keep it).
        ray_address: a Ray cluster to join (``HOST:PORT``); ``None`` uses the running Ray or
            starts a local one.
        threads: torch threads per shard actor.

    Call :meth:`close` (or drop the store) to free the actors.
    """

    backend = "sharded"

    def __init__(
        self,
        dim: int,
        value_dim: int,
        metric: str = "ip",
        shards: int = 2,
        shard_backend: str = "exact",
        shard_params: dict[str, Any] | None = None,
        ray_address: str | None = None,
        threads: int = 1,
        _paths: list[str] | None = None,
    ):
        super().__init__(dim, value_dim, metric)
        for name, value in (("shards", shards), ("threads", threads)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UserError(f"{name} must be a positive int, got {value!r}")
        if shard_backend not in STORES or shard_backend == "sharded":
            known = sorted(set(STORES) - {"sharded"})
            raise UserError(f"shard_backend must be one of {known}, got {shard_backend!r}")
        shard_params = dict(shard_params or {})
        if "path" in shard_params:
            raise UserError("shard_params: 'path' is not allowed; save the sharded store instead")
        self.shards, self.shard_backend, self.shard_params = shards, shard_backend, shard_params
        self.threads = threads
        ray = _ensure_ray(ray_address)
        job = ray.get_runtime_context().get_job_id()
        if _IDLE_JOB[0] != job:
            _IDLE.clear()
            _IDLE_JOB[0] = job
        remote = ray.remote(_Shard)
        self._actors = [_IDLE.pop() if _IDLE else remote.remote() for _ in range(shards)]
        self._release = weakref.finalize(self, _release, self._actors, job)
        paths = _paths or [None] * shards
        opened = [
            actor.open.remote(threads, shard_backend, dim, value_dim, metric, shard_params, path)
            for actor, path in zip(self._actors, paths, strict=True)
        ]
        try:
            self._sizes = ray.get(opened)
        except Exception as error:  # a shard that cannot be built or loaded
            self.close()
            cause = getattr(error, "cause", None) or error
            if isinstance(cause, ValueError | TypeError | ImportError | FileNotFoundError):
                raise UserError(f"shard store: {cause}") from None
            raise

    def close(self) -> None:
        """Free the shard actors (kept idle for the next store of this Ray session)."""
        self._release()
        self._actors = _Closed()  # type: ignore[assignment]

    def _params(self) -> dict[str, Any]:
        return {
            "shards": self.shards,
            "shard_backend": self.shard_backend,
            "shard_params": self.shard_params,
            "threads": self.threads,
        }

    # the row hooks of MemoryStore: unused, the shards keep the rows
    def _index_add(self, ids: Tensor, keys: Tensor) -> None:
        raise NotImplementedError

    _index_replace = _index_remove = _search = _index_add  # type: ignore[assignment]

    # ------------------------------------------------------------------ calls to shards
    def _on(self, ids: Tensor) -> list[Tensor]:
        """For each shard, the positions in ``ids`` of the ids it holds."""
        owner = ids % self.shards
        return [(owner == s).nonzero().flatten() for s in range(self.shards)]

    def _gather(self, calls: dict[int, Any]) -> dict[int, Any]:
        ray = _import_ray()
        done = dict(zip(calls, ray.get(list(calls.values())), strict=True))
        for s, (_, size) in done.items():
            self._sizes[s] = size
        return {s: out for s, (out, _) in done.items()}

    def _check_present(self, ids: Tensor, hint: str) -> None:
        ray = _import_ray()
        parts = [
            (ids[at], self._actors[s].missing.remote(ids[at]))
            for s, at in enumerate(self._on(ids))
            if len(at)
        ]
        missing = torch.cat(
            [sub[m] for (sub, _), m in zip(parts, ray.get([c for _, c in parts]), strict=True)]
        )
        if len(missing):
            raise KeyError(
                f"{len(missing)} id(s) not in the store, e.g. "
                f"{missing.sort().values[:10].tolist()}; {hint}"
            )

    # ------------------------------------------------------------------ public API
    def __len__(self) -> int:
        return sum(self._sizes)

    def __contains__(self, id_: object) -> bool:
        if not isinstance(id_, int | np.integer | Tensor) or int(id_) < 0:
            return False
        id_ = int(id_)
        ray = _import_ray()
        return not bool(
            ray.get(self._actors[id_ % self.shards].missing.remote(torch.tensor([id_])))[0]
        )

    def ids(self) -> Tensor:
        """``(N,)`` int64 ids, shard by shard."""
        out = self._gather({s: a.call.remote("ids") for s, a in enumerate(self._actors)})
        return torch.cat([out[s] for s in range(self.shards)])

    @property
    def nbytes(self) -> int:
        """Bytes of the shards' stored arrays, summed."""
        return sum(_import_ray().get([a.nbytes.remote() for a in self._actors]))

    def write(self, keys: Any, values: Any, ids: Any = None) -> Tensor:
        keys, values, ids = self._checked_rows(keys, values, ids)
        n = len(keys)
        self._gather(
            {
                s: self._actors[s].call.remote("write", keys[at], values[at], ids[at])
                for s, at in enumerate(self._on(ids))
                if len(at)
            }
        )
        if n:
            self._next_id = max(self._next_id, int(ids.max()) + 1)
        return ids

    def read(self, queries: Any, k: int) -> StoreRead:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise UserError(f"k must be a positive int, got {k!r}")
        queries = self._matrix(queries, "queries", self.dim, "D", "Q")
        out = self._gather(
            {s: a.call.remote("read", queries, k) for s, a in enumerate(self._actors)}
        )
        values = torch.cat([out[s][0] for s in range(self.shards)], dim=1)  # (Q, S * k, Dv)
        scores = torch.cat([out[s][1] for s in range(self.shards)], dim=1)  # (Q, S * k)
        ids = torch.cat([out[s][2] for s in range(self.shards)], dim=1)  # (Q, S * k)
        top, at = scores.topk(k, dim=1)  # (Q, k)
        ids = ids.gather(1, at).masked_fill(top == float("-inf"), PAD_ID)
        values = values.gather(1, at.unsqueeze(-1).expand(-1, -1, self.value_dim))
        return StoreRead(values, top, ids)

    def delete(self, ids: Any, missing_ok: bool = False) -> int:
        ids = self._ids(ids, unique=False).unique()
        if not missing_ok:
            self._check_present(ids, "pass missing_ok=True to ignore them")
        out = self._gather(
            {
                s: self._actors[s].call.remote("delete", ids[at], missing_ok=True)
                for s, at in enumerate(self._on(ids))
                if len(at)
            }
        )
        return sum(out.values())

    def update(self, ids: Any, keys: Any = None, values: Any = None) -> None:
        if keys is None and values is None:
            raise UserError("update needs keys, values or both")
        ids = self._ids(ids)
        for name, x, width, wname in (
            ("keys", keys, self.dim, "D"),
            ("values", values, self.value_dim, "Dv"),
        ):
            if x is not None and len(self._matrix(x, name, width, wname)) != len(ids):
                raise UserError(f"{name} has {len(x)} rows but ids has {len(ids)} entries")
        keys = None if keys is None else self._matrix(keys, "keys", self.dim, "D")
        values = None if values is None else self._matrix(values, "values", self.value_dim, "Dv")
        self._check_present(ids, "use write() to insert new entries")
        self._gather(
            {
                s: self._actors[s].call.remote(
                    "update",
                    ids[at],
                    None if keys is None else keys[at],
                    None if values is None else values[at],
                )
                for s, at in enumerate(self._on(ids))
                if len(at)
            }
        )

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``store.json`` and ``shard-NNN/`` (one per shard, by its actor) atomically."""
        with saved_directory(path) as tmp:
            self._gather(
                {
                    s: a.call.remote("save", str(tmp / f"shard-{s:03d}"))
                    for s, a in enumerate(self._actors)
                }
            )
            meta = self._meta_record(len(self), [f"shard-{s:03d}" for s in range(self.shards)])
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, ray_address: str | None = None) -> MemoryStore:
        """As :meth:`MemoryStore.load`; ``ray_address`` joins a Ray cluster for the shards."""
        cls._load_address = ray_address
        try:
            return super().load(path)
        finally:
            cls._load_address = None

    _load_address: str | None = None

    @classmethod
    def _open(cls, path: Path, meta: dict[str, Any]) -> ShardedMemoryStore:
        params = dict(meta["params"])
        shards = params.get("shards")
        if not isinstance(shards, int) or shards < 1:
            raise UserError(f"{path / META_FILE}: params.shards missing or malformed")
        paths = [path / f"shard-{s:03d}" for s in range(shards)]
        for shard in paths:
            if not (shard / META_FILE).is_file():
                raise UserError(
                    f"{shard / META_FILE}: missing; the sharded store at {path} "
                    f"lacks shard {shard.name} of {shards}: restore it"
                )
        store = cls(
            meta["dim"],
            meta["value_dim"],
            meta["metric"],
            **params,
            ray_address=ShardedMemoryStore._load_address,
            _paths=[str(p.resolve()) for p in paths],
        )
        store._next_id = meta["next_id"]
        if len(store) != meta["size"]:
            store.close()
            raise UserError(
                f"{path / META_FILE}: size {meta['size']} but the shards hold "
                f"{len(store)}; the store files do not fit together"
            )
        return store
