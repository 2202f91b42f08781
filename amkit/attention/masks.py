"""Attention masks and the masked softmax that every amkit block uses.

One convention everywhere, the same as ``torch.nn.functional.scaled_dot_product_attention``:
a boolean mask is ``True`` where attention is **allowed**. That includes key padding
masks ``(B, S)``: ``True`` marks a real key. This is the *opposite* of
``torch.nn.MultiheadAttention``'s ``key_padding_mask`` and boolean ``attn_mask``
(where ``True`` means "ignore"); :func:`from_torch_mask` converts.

A query row with no allowed key gets all-zero weights (never NaN, in forward and
backward).

Legend: B batch, H heads, T query length, S key length.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from amkit.errors import UserError


def padding_mask(lengths: Tensor | list[int], max_len: int | None = None) -> Tensor:
    """Boolean key mask from sequence lengths, ``True`` on real positions.

    Args:
        lengths: ``(B,)`` integer lengths.
        max_len: width of the mask; defaults to ``max(lengths)``.

    Returns:
        ``(B, max_len)`` bool tensor.
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1:
        raise UserError(f"lengths must be 1-D (B,), got shape {tuple(lengths.shape)}")
    if (lengths < 0).any():
        raise UserError(f"lengths must be >= 0, got min {int(lengths.min())}")
    width = int(lengths.max()) if max_len is None and len(lengths) else (max_len or 0)
    positions = torch.arange(width, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)  # (B, S)


def causal_mask(t: int, s: int | None = None, device: torch.device | None = None) -> Tensor:
    """Boolean causal mask ``(T, S)``: query ``i`` may attend keys ``j <= i``.

    Top-left aligned like ``scaled_dot_product_attention(is_causal=True)``.
    """
    s = t if s is None else s
    return torch.ones(t, s, dtype=torch.bool, device=device).tril()


def from_torch_mask(mask: Tensor) -> Tensor:
    """Convert a boolean mask in ``nn.MultiheadAttention``'s convention (``True`` = ignore)
    to amkit's (``True`` = may attend)."""
    if mask.dtype != torch.bool:
        raise TypeError(f"expected a bool mask, got dtype {mask.dtype}")
    return ~mask


def merge_masks(
    mask: Tensor | None,
    valid_keys: Tensor | None,
    is_causal: bool,
    batch: int,
    t: int,
    s: int,
    device: torch.device,
) -> Tensor | None:
    """Combine an attention mask, a key padding mask and causality into one mask.

    Args:
        mask: ``(T, S)``, ``(B, T, S)`` or ``(B, H, T, S)`` bool, ``True`` = allowed.
        valid_keys: ``(B, S)`` bool, ``True`` = real key.
        is_causal: add a top-left aligned causal mask.

    Returns:
        A bool mask broadcastable to ``(B, H, T, S)`` (4-D), or ``None`` when nothing is masked.
    """
    merged: Tensor | None = None
    if mask is not None:
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be bool (True = may attend), got dtype {mask.dtype}")
        if mask.shape[-2:] != (t, s):
            raise UserError(
                f"mask has shape {tuple(mask.shape)}; its last two dims must be "
                f"(queries, keys) = ({t}, {s})"
            )
        if mask.dim() in (3, 4) and mask.shape[0] not in (1, batch):
            raise UserError(
                f"mask has shape {tuple(mask.shape)}; its first dim must be the batch "
                f"({batch}) or 1. A 3-D mask is (B, T, S), not torch's (B*H, T, S): "
                "pass per-head masks as 4-D (B, H, T, S)"
            )
        if mask.dim() == 2:
            merged = mask.view(1, 1, t, s)
        elif mask.dim() == 3:
            merged = mask.unsqueeze(1)  # (B, 1, T, S)
        elif mask.dim() == 4:
            merged = mask
        else:
            raise UserError(f"mask must be 2-D, 3-D or 4-D, got {mask.dim()}-D")
    if valid_keys is not None:
        if valid_keys.dtype != torch.bool:
            raise TypeError(f"valid_keys must be bool (True = real key), got {valid_keys.dtype}")
        if tuple(valid_keys.shape) != (batch, s):
            raise UserError(
                f"valid_keys has shape {tuple(valid_keys.shape)}, "
                f"expected (batch, keys) = ({batch}, {s})"
            )
        kpm = valid_keys.view(batch, 1, 1, s)
        merged = kpm if merged is None else merged & kpm
    if is_causal:
        causal = causal_mask(t, s, device=device).view(1, 1, t, s)
        merged = causal if merged is None else merged & causal
    return merged


def masked_softmax(scores: Tensor, mask: Tensor | None, dim: int = -1) -> Tensor:
    """Softmax over ``dim`` that gives exactly 0 to masked entries.

    Computed in float32 (or float64 if the input is float64) and cast back. A row with no
    allowed entry gets all zeros; forward and backward stay finite.

    Args:
        scores: ``(..., S)`` raw scores.
        mask: bool, broadcastable to ``scores``; ``True`` = allowed.
    """
    dtype = scores.dtype
    work = scores.float() if dtype not in (torch.float32, torch.float64) else scores
    if mask is None:
        return torch.softmax(work, dim=dim).to(dtype)
    mask = mask.expand_as(scores) if mask.shape != scores.shape else mask
    row_any = mask.any(dim=dim, keepdim=True)
    # Rows with no allowed key are filled with zeros (not -inf) so softmax stays finite;
    # the final multiply by row_any zeroes them.
    safe_mask = mask | ~row_any
    work = work.masked_fill(~safe_mask, float("-inf"))
    weights = torch.softmax(work, dim=dim) * row_any
    return weights.to(dtype)


def renamed_valid_keys(
    valid_keys: Tensor | None, key_padding_mask: Tensor | None, where: str
) -> Tensor | None:
    """The deprecation path of ``key_padding_mask``, now ``valid_keys``.

    amkit's ``(B, S)`` key mask is ``True`` at **real** keys: the opposite of
    ``torch.nn.MultiheadAttention``'s ``key_padding_mask`` (``True`` = padding). The shared
    name invited silent bugs, so amkit's is ``valid_keys``; the old keyword still works for
    now, with a ``FutureWarning``.
    """
    if key_padding_mask is None:
        return valid_keys
    if valid_keys is not None:
        raise UserError(f"{where}: give valid_keys only (key_padding_mask is its old name)")
    warnings.warn(
        f"{where}: key_padding_mask is renamed valid_keys (True = a real key, the opposite of "
        "torch.nn.MultiheadAttention's key_padding_mask); the old name will be removed",
        FutureWarning,
        stacklevel=3,
    )
    return key_padding_mask
