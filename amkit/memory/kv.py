"""Key-value memory (Miller et al. 2016, "Key-Value Memory Networks for Directly Reading
Documents", EMNLP).

Each memory slot is a pair ``(k_i, v_i)``: keys are encoded to match the question, values to
match (parts of) the answer. One hop ``j`` of the controller state ``q_j`` does

- key addressing: ``p_i = softmax_i(A q_j . A k_i)`` over the allowed slots,
- value reading: ``o = sum_i p_i A v_i``,
- query update: ``q_{j+1} = R_j (q_j + o)`` with a separate matrix ``R_j`` per hop (a
  caller may join ``q_j`` and ``o`` some other way than ``+``: ``combine``),

and the block returns ``q_{H+1}``; the task model scores candidate answers against it
(the paper's ``softmax(q_{H+1}^T B y)``, not part of this block).

Key hashing (the paper's candidate pre-selection through an inverted index: keep only the
memories whose key shares at least one word, other than a stopword, with the question) is
:func:`preselect`; it returns a ``(B, M)`` mask to pass (combined with any padding mask) as
``mask``.

Deviations from the paper:

- the block works on already-embedded vectors: the paper's ``A Phi(x)`` (a bag of sparse
  features times an embedding matrix ``A``) is the caller's embedding followed, when
  ``key_proj`` / ``value_proj`` are on, by a learned linear map. With both on and
  ``share_proj=True`` (the default) one matrix ``A`` maps query, keys and values, as in the
  paper; with a flag off the vectors are used as given.
- the paper's stopwords are the words with corpus frequency >= F = 1000; :func:`preselect`
  takes the stopword ids directly, e.g. ``(counts >= 1000).nonzero().flatten()``.
- the paper treats the number of hops ``H`` as a hyper-parameter; the default here is 2.

Legend: B batch, M memory slots, D width, H hops (``hops``), Lq question tokens,
Lk tokens per key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax
from amkit.errors import UserError


def preselect(
    query_tokens: Tensor,
    key_tokens: Tensor,
    stopwords: Iterable[int] | Tensor | None = None,
    pad_id: int = 0,
    key_mask: Tensor | None = None,
) -> Tensor:
    """Key hashing: allow only memories that share a non-stopword token with the question.

    The paper builds an inverted index from words to memories over the whole knowledge
    source and keeps the memories hit by any question word with frequency < 1000. Given the
    per-example candidate memories as token ids, this is the same filter, vectorised: a
    ``(B, V)`` bag of the question's tokens, gathered at every key token. Cost
    ``O(B * V + B * M * Lk)`` with ``V = max token id + 1``.

    Args:
        query_tokens: ``(B, Lq)`` integer token ids of the questions, ``pad_id`` = padding.
        key_tokens: ``(B, M, Lk)`` integer token ids of each memory's key.
        stopwords: token ids that never make a match (frequent words); ``pad_id`` never
            matches either.
        pad_id: the padding id in both inputs.
        key_mask: optional ``(B, M)`` bool, ``True`` = real slot; padding slots stay
            ``False``.

    Returns:
        ``(B, M)`` bool mask, ``True`` where slot ``i`` shares at least one allowed token
        with question ``b``. A row may be all ``False``; :class:`KeyValueMemory` then gives
        zero weights.
    """
    if query_tokens.dim() != 2:
        raise UserError(
            f"query_tokens must be (B, Lq) token ids, got shape {tuple(query_tokens.shape)}"
        )
    if key_tokens.dim() != 3 or key_tokens.shape[0] != query_tokens.shape[0]:
        raise UserError(
            f"key_tokens must be (B, M, Lk) with B = {query_tokens.shape[0]} (from "
            f"query_tokens), got shape {tuple(key_tokens.shape)}"
        )
    for name, tokens in (("query_tokens", query_tokens), ("key_tokens", key_tokens)):
        if tokens.is_floating_point() or tokens.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer token ids, got dtype {tokens.dtype}")
        if tokens.numel() and int(tokens.min()) < 0:
            raise UserError(f"{name} must be >= 0, got min {int(tokens.min())}")
    b, m, lk = key_tokens.shape
    query_tokens, key_tokens = query_tokens.long(), key_tokens.long()
    vocab = 1 + max(
        int(query_tokens.max()) if query_tokens.numel() else 0,
        int(key_tokens.max()) if key_tokens.numel() else 0,
        pad_id,
    )
    bag = torch.zeros(b, vocab, dtype=torch.bool, device=query_tokens.device)  # (B, V)
    bag.scatter_(1, query_tokens, True)
    bag[:, pad_id] = False
    if stopwords is not None:
        stop = torch.as_tensor(list(stopwords) if not isinstance(stopwords, Tensor) else stopwords)
        stop = stop.long().flatten().to(bag.device)
        stop = stop[(stop >= 0) & (stop < vocab)]  # ids outside both inputs cannot match
        bag[:, stop] = False
    hits = bag.gather(1, key_tokens.reshape(b, m * lk)).view(b, m, lk)  # (B, M, Lk)
    allowed = hits.any(-1)  # (B, M)
    if key_mask is not None:
        if key_mask.dtype != torch.bool or tuple(key_mask.shape) != (b, m):
            raise UserError(
                f"key_mask must be a (B, M) = ({b}, {m}) bool tensor, got shape "
                f"{tuple(key_mask.shape)} and dtype {key_mask.dtype}"
            )
        allowed = allowed & key_mask
    return allowed


class KeyValueMemory(nn.Module):
    """Multi-hop key-value memory read (the KV-MemNN controller without the answer layer).

    Args:
        dim: D, width of the query, keys and values.
        hops: H >= 1; hop ``j`` has its own ``R_j`` (``nn.Linear(D, D, bias=False)``).
        key_proj: learn ``A`` applied to the query and the keys before addressing.
        value_proj: learn a map applied to the values before reading.
        share_proj: with both projections on, use one matrix ``A`` for query, keys and
            values (the paper); otherwise keys and values get separate maps.
        init_std: projections and ``R_j`` start from N(0, init_std) (the MemN2N family uses
            0.1); ``None`` keeps ``nn.Linear``'s default init.
        hop_keys: every hop after the first addresses the keys through its own map ``A_j``
            (``A_1`` is ``key_proj``), as MemN2N's per-hop memory embeddings: a later hop
            can match the keys on other features than the question's (bAbI's induction task
            first looks up a name, then the animal it names). Needs ``key_proj``.

    Attributes:
        key_proj: ``A`` (``nn.Linear(D, D, bias=False)``) or ``None``.
        hop_key_projs: ``A_2 .. A_H`` with ``hop_keys``, else ``None``.
        value_proj: the value map, the same module as ``key_proj`` when shared, or ``None``.
        hop_maps: ``R_1 .. R_H``.
    """

    def __init__(
        self,
        dim: int,
        hops: int = 2,
        key_proj: bool = True,
        value_proj: bool = True,
        share_proj: bool = True,
        init_std: float | None = 0.1,
        hop_keys: bool = False,
    ):
        super().__init__()
        if dim < 1:
            raise UserError(f"dim must be >= 1, got {dim}")
        if hops < 1:
            raise UserError(f"hops must be >= 1, got {hops}")
        if hop_keys and not key_proj:
            raise UserError("hop_keys needs key_proj: the first hop's map is key_proj")
        self.dim, self.hops = dim, hops

        def linear() -> nn.Linear:
            layer = nn.Linear(dim, dim, bias=False)
            if init_std is not None:
                nn.init.normal_(layer.weight, std=init_std)
            return layer

        self.key_proj = linear() if key_proj else None
        if value_proj and key_proj and share_proj:
            self.value_proj = self.key_proj
        else:
            self.value_proj = linear() if value_proj else None
        self.hop_maps = nn.ModuleList(linear() for _ in range(hops))
        self.hop_key_projs = nn.ModuleList(linear() for _ in range(hops - 1)) if hop_keys else None

    def _check(
        self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None
    ) -> tuple[int, int]:
        if query.dim() != 2 or query.shape[1] != self.dim:
            raise UserError(
                f"query must be (B, D) with D = dim = {self.dim}, got shape {tuple(query.shape)}"
            )
        b = query.shape[0]
        if keys.dim() != 3 or keys.shape[0] != b or keys.shape[2] != self.dim:
            raise UserError(
                f"keys must be (B, M, D) = ({b}, M, {self.dim}), got shape {tuple(keys.shape)}"
            )
        m = keys.shape[1]
        if tuple(values.shape) != (b, m, self.dim):
            raise UserError(
                f"values must have the keys' shape (B, M, D) = ({b}, {m}, {self.dim}), "
                f"got shape {tuple(values.shape)}"
            )
        if mask is not None:
            if mask.dtype != torch.bool:
                raise TypeError(f"mask must be bool (True = real slot), got dtype {mask.dtype}")
            if tuple(mask.shape) != (b, m):
                raise UserError(f"mask must be (B, M) = ({b}, {m}), got shape {tuple(mask.shape)}")
        return b, m

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor,
        mask: Tensor | None = None,
        need_weights: bool = False,
        combine: Callable[[int, Tensor, Tensor], Tensor] | None = None,
        linear: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Run H hops of key addressing, value reading and query update.

        Args:
            query: ``(B, D)`` embedded question.
            keys: ``(B, M, D)`` embedded memory keys.
            values: ``(B, M, D)`` embedded memory values.
            mask: ``(B, M)`` bool, ``True`` = real (allowed) slot, e.g. padding mask ``&``
                :func:`preselect`. A row with no allowed slot reads ``o = 0``.
            need_weights: also return the addressing weights of every hop.
            combine: ``combine(j, q_j, o)`` -> ``(B, D)``, how hop ``j`` (from 0) joins its
                read ``o (B, D)`` to the query ``q_j (B, D)`` before ``R_j``; ``None``: the
                paper's ``q_j + o``.
            linear: MemN2N's linear start: the raw scores (0 on masked slots) instead of
                their softmax.

        Returns:
            ``(q, weights)``: ``q`` ``(B, D)`` is ``q_{H+1}``; ``weights`` ``(B, H, M)`` (post
            softmax, exactly 0 on masked slots, rows sum to 1 or are all 0; the raw scores
            with ``linear``) or ``None``.
        """
        self._check(query, keys, values, mask)
        q, raw_keys = query, keys
        if self.key_proj is not None:
            q = self.key_proj(q)  # (B, D) A q_1
            keys = self.key_proj(keys)  # (B, M, D)
        if self.value_proj is not None:
            values = self.value_proj(values)  # (B, M, D)
        hop_weights = []
        for j, hop_map in enumerate(self.hop_maps):
            if j and self.hop_key_projs is not None:
                keys = self.hop_key_projs[j - 1](raw_keys)  # (B, M, D) A_{j+1} k
            scores = torch.einsum("bmd,bd->bm", keys, q)  # (B, M)
            if linear:
                p = scores if mask is None else scores.masked_fill(~mask, 0.0)  # (B, M)
            else:
                p = masked_softmax(scores, mask)  # (B, M)
            o = torch.einsum("bm,bmd->bd", p, values)  # (B, D)
            joined = q + o if combine is None else combine(j, q, o)  # (B, D)
            q = hop_map(joined)  # (B, D) q_{j+1} = R_j (q_j + o)
            hop_weights.append(p)
        weights = torch.stack(hop_weights, dim=1) if need_weights else None  # (B, H, M)
        return q, weights
