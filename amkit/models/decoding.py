"""Greedy and batched beam-search decoding for encoder-decoder models.

A model decodes through three methods:

- ``encode(src) -> memory``: a dict of tensors, batch first;
- ``start(memory) -> state``: a dict of tensors, batch first;
- ``step(prev (B,), state, memory) -> (log_probs (B, V), state, attention (B, S))``.

Beams live in the batch dimension (``B * K`` rows), so every tensor of ``memory`` and
``state`` is reordered with ``index_select`` -- models need no beam code. Both decoders stop
at ``</s>`` or after ``max_len`` tokens (the guard), and return each output token's
cross-attention. Beam search ranks finished hypotheses by ``log p / lp(len)`` with the GNMT
length penalty ``lp = ((5 + len) / 6) ** alpha`` (Wu et al. 2016); ``alpha = 0`` is no penalty.

Legend: B batch, K beams, V vocabulary, S source length, T output length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from amkit.data.multi30k import BOS, EOS, PAD
from amkit.errors import UserError


@dataclass
class Decoded:
    """``tokens (B, T)`` (0-padded after ``</s>``, which is not included), ``attention
    (B, T, S)`` and ``scores (B,)`` (the ranking score of each output)."""

    tokens: Tensor
    attention: Tensor
    scores: Tensor


def _select(tensors: dict[str, Tensor], index: Tensor) -> dict[str, Tensor]:
    return {k: v.index_select(0, index) for k, v in tensors.items()}


def _trim(tokens: Tensor, attention: Tensor) -> tuple[Tensor, Tensor]:
    """Cut at the first ``</s>`` (dropped), pad the rest with 0 / zero attention."""
    is_end = tokens == EOS
    after = is_end.cumsum(1) > 0  # (B, T): at or after the first </s>
    tokens = tokens.masked_fill(after, PAD)
    attention = attention.masked_fill(after.unsqueeze(-1), 0.0)
    width = int((tokens != PAD).sum(1).max()) if tokens.numel() else 0
    return tokens[:, :width], attention[:, :width]


@torch.no_grad()
def greedy_decode(model, src: Tensor, max_len: int) -> Decoded:
    memory = model.encode(src)
    state = model.start(memory)
    batch = src.shape[0]
    prev = torch.full((batch,), BOS, dtype=torch.long, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    tokens, attention, score = [], [], torch.zeros(batch, device=src.device)
    for _ in range(max_len):
        log_probs, state, attn = model.step(prev, state, memory)
        best, prev = log_probs.max(-1)
        prev = prev.masked_fill(done, EOS)
        score = score + best.masked_fill(done, 0.0)
        tokens.append(prev)
        attention.append(attn)
        done = done | (prev == EOS)
        if bool(done.all()):
            break
    out_tokens, out_attention = _trim(torch.stack(tokens, 1), torch.stack(attention, 1))
    return Decoded(out_tokens, out_attention, score)


def length_penalty(length: Tensor, alpha: float) -> Tensor:
    return ((5.0 + length.float()) / 6.0) ** alpha


@torch.no_grad()
def beam_search(model, src: Tensor, max_len: int, beam: int = 4, alpha: float = 0.6) -> Decoded:
    """Batched beam search; ``beam = 1`` is greedy decoding (tested)."""
    if beam < 1:
        raise UserError(f"beam must be >= 1, got {beam}")
    batch, device = src.shape[0], src.device
    memory = model.encode(src)
    rows = torch.arange(batch, device=device).repeat_interleave(beam)  # (B*K,)
    memory = _select(memory, rows)
    state = model.start(memory)
    scores = torch.zeros(batch, beam, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: keep one alive at first
    prev = torch.full((batch * beam,), BOS, dtype=torch.long, device=device)
    done = torch.zeros(batch * beam, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch * beam, dtype=torch.long, device=device)
    history = torch.zeros(batch * beam, 0, dtype=torch.long, device=device)
    attention = None
    for _ in range(max_len):
        log_probs, state, attn = model.step(prev, state, memory)  # (B*K, V), (B*K, S)
        vocab = log_probs.shape[-1]
        # a finished beam only continues with </s> at no cost
        frozen = torch.full_like(log_probs, float("-inf"))
        frozen[:, EOS] = 0.0
        log_probs = torch.where(done.unsqueeze(-1), frozen, log_probs)
        total = (scores.view(-1, 1) + log_probs).view(batch, beam * vocab)
        scores, flat = total.topk(beam, dim=-1)  # (B, K)
        origin = flat // vocab  # which beam each survivor extends
        token = flat % vocab
        index = (torch.arange(batch, device=device).unsqueeze(1) * beam + origin).view(-1)
        state = _select(state, index)
        attn = attn.index_select(0, index)
        history = torch.cat([history.index_select(0, index), token.view(-1, 1)], 1)
        attention = (
            attn.unsqueeze(1)
            if attention is None
            else torch.cat([attention.index_select(0, index), attn.unsqueeze(1)], 1)
        )
        was_done = done.index_select(0, index)
        lengths = lengths.index_select(0, index) + (~was_done).long()
        done = was_done | (token.view(-1) == EOS)
        prev = token.view(-1)
        if bool(done.all()):
            break
    ranked = scores.view(-1) / length_penalty(lengths, alpha)  # (B*K,)
    best = ranked.view(batch, beam).argmax(-1)  # (B,)
    pick = torch.arange(batch, device=device) * beam + best
    out_tokens, out_attention = _trim(
        history.index_select(0, pick), attention.index_select(0, pick)
    )
    return Decoded(out_tokens, out_attention, ranked.index_select(0, pick))
