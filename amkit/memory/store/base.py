"""The memory-store API that every backend implements: write, read, update, delete, save, load.

A store holds ``N`` entries, each a key ``(D,)``, a value ``(Dv,)`` and a user id (int64,
``>= 0``). ``read`` returns the ``k`` entries whose keys score highest against each query:
inner product (``metric="ip"``) or cosine similarity (``metric="cosine"``; keys and queries
are L2-normalised on the way in, so the stored keys are unit vectors).

- :class:`ExactMemoryStore`: keys in a torch tensor, brute-force scores and ``torch.topk``,
  in chunks of queries so the ``(Q, N)`` score matrix never exceeds ``SCORE_CHUNK_BYTES``.
- :class:`FaissMemoryStore`: a FAISS index (``pip install amkit[faiss]``): ``"flat"`` (exact,
  ``IndexIDMap2`` over ``IndexFlatIP``) or ``"ivf"`` (approximate, ``IndexIVFFlat``, which
  keeps the user's ids itself; ``nlist`` lists, ``nprobe`` of them searched per query).

Both keep the values in a torch tensor next to the ids; an entry's row changes when others
are deleted, its id never does. Writing an existing id replaces that entry. ``save`` writes a
directory -- ``store.json`` (backend, metric, sizes, parameters), ``store.safetensors`` (ids,
values and, for the exact backend, keys) and, for FAISS, ``index.faiss``
(``faiss.write_index``; FAISS's own binary format) -- into a temporary sibling and swaps it in,
so a save that fails leaves the previous copy whole. Nothing is pickled.

Two backends keep their rows elsewhere and override ``_open`` (how ``load`` reads them):
``DiskMemoryStore`` (``disk.py``; memory-mapped rows and FAISS lists, opened in place) and
``ShardedMemoryStore`` (``sharded.py``; one saved store per shard, held by Ray actors).

Legend: N entries, Q queries, D key width (``dim``), Dv value width (``value_dim``),
k results per query.
"""

from __future__ import annotations

import abc
import json
import logging
import os
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import Tensor

from amkit.errors import UserError
from amkit.io import directory_backup, read_tensors
from amkit.memory.store.persist import META_FILE, saved_directory
from amkit.registry import Registry
from amkit.textfile import read_json

logger = logging.getLogger(__name__)

STORES = Registry("memory store")
"""Memory-store backends by name (``exact``, ``faiss``): :class:`MemoryStore` subclasses,
filled by ``@STORES.register(name)``; :func:`make_store` builds one by name."""
METRICS = ("ip", "cosine")
PAD_ID = -1
FORMAT = "amkit.memory_store"
FORMAT_VERSION = 1
TENSOR_FILE, INDEX_FILE = "store.safetensors", "index.faiss"
BUILD_FILE = "build.json"  # an on-disk store's build in progress (disk_build.py)


class StoreRead(NamedTuple):
    """What :meth:`MemoryStore.read` returns; unpacks as ``values, scores, ids``.

    Attributes:
        values: ``(Q, k, Dv)``; zeros where there was no entry.
        scores: ``(Q, k)`` best first; ``-inf`` where there was no entry.
        ids: ``(Q, k)`` int64; ``-1`` where there was no entry.
    """

    values: Tensor
    scores: Tensor
    ids: Tensor


# the fields of a store's meta file and their JSON types
_META_FIELDS = {"backend": str, "metric": str, "dim": int, "value_dim": int,
                "size": int, "next_id": int, "params": dict}  # fmt: skip


def _check_meta(meta: dict[str, Any], path: Path) -> None:
    """Every field a store needs, of its type, or a user error naming ``path`` and them."""
    bad = [k for k, kind in _META_FIELDS.items() if not isinstance(meta.get(k), kind)]
    if bad:
        raise UserError(f"{path}: {', '.join(bad)} missing or malformed; save the store again")


def _as_tensor(x: Any, name: str) -> Tensor:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    if isinstance(x, Tensor):
        return x.detach()
    raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")


class MemoryStore(abc.ABC):
    """Base of the stores: id bookkeeping, values, validation, save and load.

    Subclasses provide the key index (``_index_*`` methods) and may keep extra per-row
    columns (``_extra_columns``). Construct them directly or with :func:`make_store`.

    Args:
        dim: D, key width.
        value_dim: Dv, value width.
        metric: ``"ip"`` (inner product) or ``"cosine"``.
    """

    backend: ClassVar[str] = ""

    def __init__(self, dim: int, value_dim: int, metric: str = "ip"):
        for name, value in (("dim", dim), ("value_dim", value_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UserError(f"{name} must be a positive int, got {value!r}")
        if metric not in METRICS:
            raise UserError(f"metric must be one of {METRICS}, got {metric!r}")
        self.dim, self.value_dim, self.metric = dim, value_dim, metric
        self._cols: dict[str, Tensor] = {  # row buffers; rows [0, _n) are live
            "ids": torch.empty(0, dtype=torch.int64),
            "values": torch.empty(0, value_dim),
        }
        for name, width in self._extra_columns().items():
            self._cols[name] = torch.empty(0, width)
        self._n = 0
        self._next_id = 0  # auto ids start past every id ever written: never reused
        self._sorted: tuple[Tensor, Tensor] | None = None  # (sorted ids, their rows), lazy

    # ------------------------------------------------------------------ backend hooks
    def _extra_columns(self) -> dict[str, int]:
        """Per-row float32 columns beyond ids and values: ``{name: width}``."""
        return {}

    @abc.abstractmethod
    def _index_add(self, ids: Tensor, keys: Tensor) -> None:
        """Index new entries (ids not yet stored); called before their rows are appended."""

    @abc.abstractmethod
    def _index_replace(self, rows: Tensor, ids: Tensor, keys: Tensor) -> None:
        """Give stored entries (at ``rows``) new keys."""

    @abc.abstractmethod
    def _index_remove(self, ids: Tensor) -> None:
        """Drop stored entries from the index; called before their rows are removed."""

    @abc.abstractmethod
    def _search(self, queries: Tensor, k: int) -> tuple[Tensor, Tensor]:
        """Top ``k <= len(self)`` of prepared ``queries`` ``(Q, D)``: ``(scores, rows)``,
        both ``(Q, k)``, rows ``-1`` where the index found fewer."""

    def _params(self) -> dict[str, Any]:
        """Constructor keyword arguments beyond dim, value_dim, metric (saved as JSON)."""
        return {}

    def _save_index(self, directory: Path) -> list[str]:
        """Write backend files into ``directory``; return their names."""
        return []

    def _load_index(self, directory: Path) -> None:  # noqa: B027 (optional hook)
        """Read what :meth:`_save_index` wrote (columns are loaded already)."""

    # ------------------------------------------------------------------ validation
    def _matrix(self, x: Any, name: str, width: int, width_name: str, rows: str = "N") -> Tensor:
        """``x`` as a float32 CPU ``(rows, width)`` tensor, or an error naming ``name``."""
        x = _as_tensor(x, name)
        if not x.is_floating_point():
            raise TypeError(f"{name} must be floating point, got dtype {x.dtype}; use .float()")
        if x.dim() != 2 or x.shape[1] != width:
            raise UserError(
                f"{name} must be ({rows}, {width_name}) = ({rows}, {width}), "
                f"got shape {tuple(x.shape)}"
            )
        x = x.to("cpu", torch.float32).contiguous()
        if not torch.isfinite(x).all():
            raise UserError(f"{name} contains NaN or inf")
        return x

    def _ids(
        self, ids: Any, name: str = "ids", n: int | None = None, unique: bool = True
    ) -> Tensor:
        if isinstance(ids, int | list | tuple):
            ids = torch.as_tensor(ids).reshape(-1)
        ids = _as_tensor(ids, name)
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise TypeError(f"{name} must be integers (int64), got dtype {ids.dtype}")
        if ids.dim() != 1:
            raise UserError(f"{name} must be 1-D (N,), got shape {tuple(ids.shape)}")
        if n is not None and len(ids) != n:
            raise UserError(f"{name} has {len(ids)} entries but keys/values have {n} rows")
        ids = ids.to("cpu", torch.int64)
        if len(ids) and int(ids.min()) < 0:
            raise UserError(f"{name} must be >= 0 (-1 marks padding), got {int(ids.min())}")
        if unique:
            uniq, counts = ids.unique(return_counts=True)
            if len(uniq) != len(ids):
                dups = uniq[counts > 1][:10].tolist()
                raise UserError(f"{name} contains duplicates, e.g. {dups}; pass each id once")
        return ids

    def _prepare(self, keys: Tensor) -> Tensor:
        """Keys and queries as the index sees them: unit rows for cosine."""
        return F.normalize(keys, dim=1) if self.metric == "cosine" else keys

    # ------------------------------------------------------------------ rows and ids
    def _rows_of(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        """``(rows, found)`` of ``ids`` ``(N,)``; rows are meaningless where not found."""
        if self._n == 0:
            return torch.zeros_like(ids), torch.zeros_like(ids, dtype=torch.bool)
        if self._sorted is None:
            self._sorted = self._cols["ids"][: self._n].sort()
        sorted_ids, order = self._sorted
        pos = torch.searchsorted(sorted_ids, ids).clamp(max=self._n - 1)
        return order[pos], sorted_ids[pos] == ids

    def _append(self, **cols: Tensor) -> None:
        """Append rows; ``cols`` may name more columns than this store keeps (ignored)."""
        m = len(cols["ids"])
        need = self._n + m
        for name, col in self._cols.items():
            if len(col) < need:  # grow geometrically so many small writes stay linear
                grown = torch.empty((max(need, 2 * len(col)), *col.shape[1:]), dtype=col.dtype)
                grown[: self._n] = col[: self._n]
                self._cols[name] = col = grown
            col[self._n : need] = cols[name]
        self._n = need
        self._sorted = None

    def _remove_rows(self, rows: Tensor) -> None:
        """Delete ``rows`` by moving the last surviving rows into the holes (O(deleted))."""
        keep_n = self._n - len(rows)
        dead = torch.zeros(self._n, dtype=torch.bool)
        dead[rows] = True
        holes = rows[rows < keep_n]
        tail = torch.arange(keep_n, self._n)
        movers = tail[~dead[keep_n:]]
        assert len(holes) == len(movers)
        for col in self._cols.values():
            col[holes] = col[movers]
        self._n = keep_n
        self._sorted = None

    def _missing_error(self, ids: Tensor, found: Tensor, hint: str) -> KeyError:
        missing = ids[~found]
        return KeyError(
            f"{len(missing)} id(s) not in the store, e.g. {missing[:10].tolist()}; {hint}"
        )

    # ------------------------------------------------------------------ public API
    def __len__(self) -> int:
        return self._n

    def __contains__(self, id_: object) -> bool:
        if not isinstance(id_, int | np.integer | Tensor):
            return False
        return bool(self._rows_of(torch.as_tensor(id_, dtype=torch.int64).view(1))[1][0])

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self._params().items())
        return (
            f"{type(self).__name__}(dim={self.dim}, value_dim={self.value_dim}, "
            f"metric={self.metric!r}{params}, size={self._n})"
        )

    def ids(self) -> Tensor:
        """``(N,)`` int64 ids of the stored entries, in storage order."""
        return self._cols["ids"][: self._n].clone()

    @property
    def nbytes(self) -> int:
        """Bytes of the stored arrays (ids, values, keys or index; FAISS's id maps excluded)."""
        return sum(col[: self._n].nbytes for col in self._cols.values())

    def _checked_rows(self, keys: Any, values: Any, ids: Any) -> tuple[Tensor, Tensor, Tensor]:
        """``write``'s ``(N, D)`` keys, ``(N, Dv)`` values and ``(N,)`` ids, checked."""
        keys = self._matrix(keys, "keys", self.dim, "D")
        values = self._matrix(values, "values", self.value_dim, "Dv")
        n = len(keys)
        if len(values) != n:
            raise UserError(f"keys has {n} rows but values has {len(values)}; pass one per key")
        if ids is None:
            ids = torch.arange(self._next_id, self._next_id + n, dtype=torch.int64)
        else:
            ids = self._ids(ids, n=n)
        return keys, values, ids

    def _meta_record(self, size: int, files: list[str]) -> dict[str, Any]:
        """The ``store.json`` a saved store carries: format, backend, sizes, files."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "backend": self.backend,
                "metric": self.metric, "dim": self.dim, "value_dim": self.value_dim,
                "size": size, "next_id": self._next_id, "params": self._params(),
                "files": files}  # fmt: skip

    def write(self, keys: Any, values: Any, ids: Any = None) -> Tensor:
        """Insert entries; an id already stored is replaced (key and value).

        Args:
            keys: ``(N, D)`` float.
            values: ``(N, Dv)`` float.
            ids: ``(N,)`` distinct int64 ids ``>= 0``, or ``None`` for new ids past every id
                written so far.

        Returns:
            ``(N,)`` int64 ids of the written entries.
        """
        keys, values, ids = self._checked_rows(keys, values, ids)
        n, keys, written = len(keys), self._prepare(keys), ids
        rows, found = self._rows_of(ids)
        if found.any():
            old = found.nonzero().flatten()
            self._index_replace(rows[old], ids[old], keys[old])
            self._cols["values"][rows[old]] = values[old]
        if not found.all():
            new = (~found).nonzero().flatten()
            if len(new) < n:
                ids, keys, values = ids[new], keys[new], values[new]
            self._index_add(ids, keys)
            self._append(ids=ids, values=values, keys=keys)
        if n:
            self._next_id = max(self._next_id, int(written.max()) + 1)
        return written

    def read(self, queries: Any, k: int) -> StoreRead:
        """The ``k`` best entries per query, best first.

        Args:
            queries: ``(Q, D)`` float.
            k: results per query (>= 1); past ``len(self)`` results are padded.

        Returns:
            :class:`StoreRead` ``(values (Q, k, Dv), scores (Q, k), ids (Q, k))``; padding has
            id -1, score -inf and a zero value.
        """
        if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
            raise UserError(f"k must be a positive int, got {k!r}")
        k = int(k)
        queries = self._prepare(self._matrix(queries, "queries", self.dim, "D", "Q"))
        q = len(queries)
        values = torch.zeros(q, k, self.value_dim)
        scores = torch.full((q, k), float("-inf"))
        ids = torch.full((q, k), PAD_ID, dtype=torch.int64)
        found = min(k, len(self))
        if found and q:
            s, rows = self._search(queries, found)  # (Q, found) each
            real = rows >= 0
            safe = rows.clamp(min=0)
            scores[:, :found] = s.masked_fill(~real, float("-inf"))
            ids[:, :found] = self._cols["ids"][safe].masked_fill(~real, PAD_ID)
            gathered = self._cols["values"][safe.flatten()].view(q, found, self.value_dim)
            values[:, :found] = gathered * real.unsqueeze(-1)  # (Q, found, Dv)
        return StoreRead(values, scores, ids)

    def delete(self, ids: Any, missing_ok: bool = False) -> int:
        """Remove entries; their ids become unreachable (and are never auto-assigned again).

        Args:
            ids: ``(N,)`` int64 ids; repeats are ignored.
            missing_ok: ignore ids that are not stored instead of raising ``KeyError``.

        Returns:
            The number of entries removed.
        """
        ids = self._ids(ids, unique=False).unique()
        rows, found = self._rows_of(ids)
        if not found.all():
            if not missing_ok:
                raise self._missing_error(ids, found, "pass missing_ok=True to ignore them")
            ids, rows = ids[found], rows[found]
        if not len(ids):
            return 0
        self._index_remove(ids)
        self._remove_rows(rows)
        return len(ids)

    def update(self, ids: Any, keys: Any = None, values: Any = None) -> None:
        """Change the keys and/or values of stored entries (all ids must exist).

        Args:
            ids: ``(N,)`` distinct int64 ids.
            keys: ``(N, D)`` new keys, or ``None`` to keep them.
            values: ``(N, Dv)`` new values, or ``None`` to keep them.
        """
        if keys is None and values is None:
            raise UserError("update needs keys, values or both")
        ids = self._ids(ids)
        if keys is not None:
            keys = self._prepare(self._matrix(keys, "keys", self.dim, "D"))
            if len(keys) != len(ids):
                raise UserError(f"keys has {len(keys)} rows but ids has {len(ids)} entries")
        if values is not None:
            values = self._matrix(values, "values", self.value_dim, "Dv")
            if len(values) != len(ids):
                raise UserError(f"values has {len(values)} rows but ids has {len(ids)} entries")
        rows, found = self._rows_of(ids)
        if not found.all():
            raise self._missing_error(ids, found, "use write() to insert new entries")
        if keys is not None:
            self._index_replace(rows, ids, keys)
        if values is not None:
            self._cols["values"][rows] = values

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike) -> Path:
        """Write the store to directory ``path`` atomically (temp sibling + rename).

        An existing directory is replaced only if it holds a store (or is empty); if the save
        fails the previous copy stays as it was and the temporary directory is removed.

        Returns:
            ``path`` as a :class:`~pathlib.Path`.
        """
        with saved_directory(path) as tmp:
            live = {name: col[: self._n] for name, col in self._cols.items()}  # views, no copy
            save_file(live, str(tmp / TENSOR_FILE))
            files = [TENSOR_FILE, *self._save_index(tmp)]
            meta = self._meta_record(self._n, files)
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> MemoryStore:
        """Read a store written by :meth:`save`; ``MemoryStore.load`` picks the backend.

        Raises:
            FileNotFoundError: no store at ``path``.
            ValueError: the files are not a store of this class, or do not fit together.
        """
        path = Path(path)
        if not (path / META_FILE).is_file() and (directory_backup(path) / META_FILE).is_file():
            logger.warning("%s is missing; loading the copy an interrupted save left", path)
            path = directory_backup(path)
        if not (path / META_FILE).is_file() and (path / BUILD_FILE).is_file():
            raise UserError(
                f"{path / BUILD_FILE}: the build of this store did not finish; run "
                "build_disk_store again with the same stream to resume it"
            )
        if not (path / META_FILE).is_file():
            raise FileNotFoundError(f"no memory store at {path} ({META_FILE} not found)")
        meta = read_json(path / META_FILE, fix="save the store again")
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise UserError(
                f"{path / META_FILE} is not an amkit memory store of version {FORMAT_VERSION} "
                f"(format {meta.get('format')!r}, version {meta.get('version')!r})"
            )
        _check_meta(meta, path / META_FILE)
        klass = STORES.get_or_raise(meta["backend"])
        if cls is not MemoryStore and not issubclass(klass, cls):
            raise UserError(
                f"{path} holds a {meta['backend']!r} store; load it with MemoryStore.load "
                f"or {klass.__name__}.load"
            )
        return klass._open(path, meta)

    @classmethod
    def _open(cls, path: Path, meta: dict[str, Any]) -> MemoryStore:
        """The store in directory ``path`` whose checked ``store.json`` is ``meta``; backends
        whose files are not ``store.safetensors`` (on disk, sharded) override it."""
        store = cls(meta["dim"], meta["value_dim"], meta["metric"], **meta["params"])
        tensors = read_tensors(path / TENSOR_FILE)
        n = meta["size"]
        for name, col in store._cols.items():
            expected = (n, *col.shape[1:])
            got = tensors.get(name)
            if got is None or tuple(got.shape) != expected or got.dtype != col.dtype:
                shape = None if got is None else tuple(got.shape)
                raise UserError(
                    f"{path / TENSOR_FILE}: tensor {name!r} should be {expected} {col.dtype}, "
                    f"found {shape}; the store files do not fit together"
                )
            store._cols[name] = got
        store._n, store._next_id = n, meta["next_id"]
        store._load_index(path)
        return store
