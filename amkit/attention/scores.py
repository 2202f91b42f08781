"""Attention score functions and the generic :class:`Attention` module.

Score functions map queries ``(B, T, Dq)`` and keys ``(B, S, Dk)`` to scores ``(B, T, S)``:

=========  ===========================================  ============================
name       score(q, k)                                  reference
=========  ===========================================  ============================
dot        q . k                                        Luong et al. 2015
scaled_dot q . k / sqrt(D)                              Vaswani et al. 2017
general    q^T W k   (bilinear)                         Luong et al. 2015
additive   v^T tanh(W_q q + W_k k)                      Bahdanau et al. 2015
cosine     cos(q, k) / temperature                      Graves et al. 2014 (NTM)
=========  ===========================================  ============================

Legend: B batch, T queries, S keys, Dq/Dk/Dv query/key/value width, A additive hidden width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax
from amkit.errors import UserError
from amkit.registry import Registry

SCORES = Registry("score")
"""Score functions by name (``dot``, ``scaled_dot``, ``general``, ``additive``, ``cosine``):
:class:`Score` subclasses, filled by ``@SCORES.register(name)``; :func:`make_score` builds
one. An unknown name is an error that lists the known ones."""


class Score(nn.Module):
    """Base class: ``forward(query (B, T, Dq), keys (B, S, Dk)) -> scores (B, T, S)``."""

    def __init__(self, query_dim: int, key_dim: int):
        super().__init__()
        self.query_dim = query_dim
        self.key_dim = key_dim


def _require_same_width(name: str, query_dim: int, key_dim: int) -> None:
    if query_dim != key_dim:
        raise UserError(
            f"score {name!r} needs query_dim == key_dim, got {query_dim} and {key_dim}; "
            "use score='general' or 'additive' for different widths"
        )


@SCORES.register("dot")
class DotScore(Score):
    def __init__(self, query_dim: int, key_dim: int, **_: object):
        super().__init__(query_dim, key_dim)
        _require_same_width("dot", query_dim, key_dim)

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        return query @ keys.transpose(-1, -2)  # (B, T, S)


@SCORES.register("scaled_dot")
class ScaledDotScore(Score):
    def __init__(self, query_dim: int, key_dim: int, **_: object):
        super().__init__(query_dim, key_dim)
        _require_same_width("scaled_dot", query_dim, key_dim)
        self.scale = 1.0 / math.sqrt(query_dim)

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        return (query @ keys.transpose(-1, -2)) * self.scale  # (B, T, S)


@SCORES.register("general")
class GeneralScore(Score):
    """Bilinear score ``q^T W k`` (Luong's *general*)."""

    def __init__(self, query_dim: int, key_dim: int, **_: object):
        super().__init__(query_dim, key_dim)
        self.weight = nn.Linear(key_dim, query_dim, bias=False)

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        return query @ self.weight(keys).transpose(-1, -2)  # (B, T, S)


@SCORES.register("additive")
class AdditiveScore(Score):
    """Bahdanau's additive score ``v^T tanh(W_q q + W_k k)``.

    Memory: builds a ``(B, T, S, A)`` intermediate, as the formula requires.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int | None = None, **_: object):
        super().__init__(query_dim, key_dim)
        hidden_dim = hidden_dim or key_dim
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=True)
        self.v = nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        return self.score_projected(query, self.key_proj(keys))

    def score_projected(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        """The score with ``W_k k`` already computed (``(B, S, A)``, e.g. once per source
        sentence while a decoder attends at every step): ``query (B, T, Dq)`` -> ``(B, T, S)``."""
        q = self.query_proj(query).unsqueeze(2)  # (B, T, 1, A)
        k = projected_keys.unsqueeze(1)  # (B, 1, S, A)
        return self.v(torch.tanh(q + k)).squeeze(-1)  # (B, T, S)


@SCORES.register("cosine")
class CosineScore(Score):
    """Cosine similarity divided by a temperature (1 by default)."""

    def __init__(
        self, query_dim: int, key_dim: int, temperature: float = 1.0, eps: float = 1e-8, **_: object
    ):
        super().__init__(query_dim, key_dim)
        _require_same_width("cosine", query_dim, key_dim)
        if temperature <= 0:
            raise UserError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.eps = eps

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        q = F.normalize(query, dim=-1, eps=self.eps)
        k = F.normalize(keys, dim=-1, eps=self.eps)
        return (q @ k.transpose(-1, -2)) / self.temperature  # (B, T, S)


def make_score(name: str, query_dim: int, key_dim: int, **kwargs: object) -> Score:
    """Build a registered score function by name."""
    return SCORES.get_or_raise(name)(query_dim, key_dim, **kwargs)


class Attention(nn.Module):
    """Attention of one query (or a sequence of queries) over keys and values.

    ``forward(query, keys, values=None, mask=None, need_weights=False)`` returns
    ``(context, weights)`` like ``torch.nn.MultiheadAttention``; ``weights`` is ``None``
    unless ``need_weights=True``.

    Args:
        score: a name in :data:`SCORES` (``dot``, ``scaled_dot``, ``general``, ``additive``,
            ``cosine``) or a :class:`Score` instance.
        query_dim: width Dq of queries.
        key_dim: width Dk of keys; defaults to ``query_dim``.
        dropout: dropout on the weights used for the context (returned weights are
            pre-dropout).
        **score_kwargs: passed to the score (e.g. ``hidden_dim`` for additive).

    Shapes:
        query ``(B, Dq)`` or ``(B, T, Dq)``; keys ``(B, S, Dk)``; values ``(B, S, Dv)``
        (defaults to keys); mask ``(B, S)`` or ``(B, T, S)`` bool, ``True`` = may attend.
        Returns context ``(B, Dv)`` / ``(B, T, Dv)`` and weights ``(B, S)`` / ``(B, T, S)``.
    """

    def __init__(
        self,
        score: str | Score = "scaled_dot",
        query_dim: int = 0,
        key_dim: int | None = None,
        dropout: float = 0.0,
        **score_kwargs: object,
    ):
        super().__init__()
        if isinstance(score, Score):
            self.score = score
        else:
            if query_dim <= 0:
                raise UserError(f"query_dim must be a positive int, got {query_dim}")
            self.score = make_score(score, query_dim, key_dim or query_dim, **score_kwargs)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor | None = None,
        mask: Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        values = keys if values is None else values
        single = query.dim() == 2
        if single:
            query = query.unsqueeze(1)  # (B, 1, Dq)
        if query.dim() != 3 or keys.dim() != 3 or values.dim() != 3:
            raise UserError(
                "expected query (B, Dq) or (B, T, Dq), keys (B, S, Dk), values (B, S, Dv); got "
                f"{tuple(query.shape)}, {tuple(keys.shape)}, {tuple(values.shape)}"
            )
        if keys.shape[:2] != values.shape[:2]:
            raise UserError(
                f"keys {tuple(keys.shape)} and values {tuple(values.shape)} must share (B, S)"
            )
        scores = self.score(query, keys)  # (B, T, S)
        if mask is not None:
            if mask.dtype != torch.bool:
                raise TypeError(f"mask must be bool (True = may attend), got {mask.dtype}")
            given = tuple(mask.shape)
            if mask.dim() == 2:
                mask = mask.unsqueeze(1)  # (B, 1, S)
            b, t, s = scores.shape
            fits = mask.dim() == 3 and mask.shape[0] in (1, b) and mask.shape[1] in (1, t)
            if not fits or mask.shape[-1] != s:
                raise UserError(
                    f"mask has shape {given}; expected (B, S) = ({b}, {s}) "
                    f"or (B, T, S) = ({b}, {t}, {s})"
                )
        weights = masked_softmax(scores, mask)  # (B, T, S)
        context = self.dropout(weights) @ values  # (B, T, Dv)
        if single:
            context, weights = context.squeeze(1), weights.squeeze(1)
        return context, (weights if need_weights else None)
