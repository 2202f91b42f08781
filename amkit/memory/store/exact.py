"""The exact backend: keys in a torch tensor, brute-force scores and ``torch.topk``, in
chunks of queries so the ``(Q, N)`` score matrix never exceeds :data:`SCORE_CHUNK_BYTES`.

Legend: N entries, Q queries, D key width, k results per query.
"""

from __future__ import annotations

import torch
from torch import Tensor

from amkit.memory.store.base import STORES, MemoryStore

SCORE_CHUNK_BYTES = 256 * 2**20  # caps the (Q, N) float32 score block


@STORES.register("exact")
class ExactMemoryStore(MemoryStore):
    """Brute-force store in RAM: every read scores every key (``queries @ keys.T``).

    Reads are exact; ties in score are broken by ``torch.topk`` (storage order, which deletes
    change). Args as :class:`MemoryStore`.
    """

    backend = "exact"

    def _extra_columns(self) -> dict[str, int]:
        return {"keys": self.dim}

    def _index_add(self, ids: Tensor, keys: Tensor) -> None:
        pass  # the keys column is the index

    def _index_replace(self, rows: Tensor, ids: Tensor, keys: Tensor) -> None:
        self._cols["keys"][rows] = keys

    def _index_remove(self, ids: Tensor) -> None:
        pass

    def _search(self, queries: Tensor, k: int) -> tuple[Tensor, Tensor]:
        keys = self._cols["keys"][: self._n]  # (N, D)
        chunk = max(1, SCORE_CHUNK_BYTES // (4 * self._n))
        scores, rows = [], []
        for start in range(0, len(queries), chunk):
            block = queries[start : start + chunk] @ keys.T  # (q, N)
            s, r = block.topk(k, dim=1)  # (q, k) each
            scores.append(s)
            rows.append(r)
        return torch.cat(scores), torch.cat(rows)
