"""Sequence encoders shared by amkit's text, QA and translation models.

Each encoder maps embedded tokens ``x (B, T, D)`` and a padding mask ``mask (B, T)``
(True = real token) to states ``(B, T, d_out)``; ``d_out`` is an attribute. :func:`pool`
turns states into one vector per text.

- :class:`RNNEncoder`: bidirectional LSTM / GRU that reads each text backward from its own
  last word;
- :class:`CNNEncoder`: parallel convolutions of several widths (Kim 2014);
- :class:`TransformerTextEncoder`: projection, learned positions, amkit's Transformer;
- :class:`ChunkedEncoder`: attention inside fixed-size chunks, a BiGRU over the summaries;
- :class:`RegionEmbedding` + :class:`RegionEncoder` (+ :class:`RegionKnowledge`): Johnson &
  Zhang 2015's convolution over one-hot words, as lookups;
- :class:`BagEncoder`: no encoder (fastText-style pooling of the embeddings).

Legend: B batch, T tokens, S chunks or states, D widths, H hidden width, V vocabulary.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention import TransformerEncoder
from amkit.attention.pooling import AttentionPooling
from amkit.errors import UserError

__all__ = [
    "BagEncoder",
    "CNNEncoder",
    "ChunkedEncoder",
    "RNNEncoder",
    "RegionEmbedding",
    "RegionEncoder",
    "RegionKnowledge",
    "TransformerTextEncoder",
    "pool",
    "region_padding",
]


class RNNEncoder(nn.Module):
    """Bidirectional LSTM or GRU over the real tokens: ``(B, T, D) -> (B, T, 2 H)``.

    The backward direction reads each text from its own last word: every sequence is
    reversed within its length, run forward, and reversed back. Same result as a packed
    bidirectional RNN, and 5-10x faster on CPU than PyTorch's packed sequences.
    """

    def __init__(self, kind: str, d_in: int, d_hidden: int, n_layers: int, dropout: float):
        super().__init__()
        rnn = nn.LSTM if kind == "lstm" else nn.GRU
        widths = [d_in] + [2 * d_hidden] * (n_layers - 1)
        self.forward_rnns = nn.ModuleList(rnn(w, d_hidden, batch_first=True) for w in widths)
        self.backward_rnns = nn.ModuleList(rnn(w, d_hidden, batch_first=True) for w in widths)
        self.dropout = nn.Dropout(dropout)
        self.d_out = 2 * d_hidden

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        t = x.shape[1]
        lengths = mask.sum(1, keepdim=True)  # (B, 1)
        steps = torch.arange(t, device=x.device).unsqueeze(0)  # (1, T)
        # position t reads position len - 1 - t; padding stays where it is
        flip = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (B, T)
        real = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        for layer, (fwd, bwd) in enumerate(zip(self.forward_rnns, self.backward_rnns, strict=True)):
            if layer:
                x = self.dropout(x)
            index = flip.unsqueeze(-1).expand(-1, -1, x.shape[-1])  # (B, T, D)
            ahead, _ = fwd(x)  # (B, T, H)
            behind, _ = bwd(x.gather(1, index))  # (B, T, H) on the reversed texts
            behind = behind.gather(1, flip.unsqueeze(-1).expand(-1, -1, behind.shape[-1]))
            x = torch.cat([ahead, behind], dim=-1) * real  # (B, T, 2H), zeros at padding
        return x


class CNNEncoder(nn.Module):
    """Convolutions of several widths side by side: ``(B, T, D) -> (B, T, n_widths * H)``."""

    def __init__(self, d_in: int, channels: int, widths: list[int]):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(d_in, channels, w, padding=w // 2) for w in widths)
        self.d_out = channels * len(widths)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        t = x.shape[1]
        x = x.transpose(1, 2)  # (B, D, T)
        maps = [F.relu(conv(x))[:, :, :t] for conv in self.convs]  # (B, H, T) each
        return torch.cat(maps, dim=1).transpose(1, 2)  # (B, T, n_widths * H)


class TransformerTextEncoder(nn.Module):
    """Input projection, learned positions, amkit's Transformer encoder: ``(B, T, D_h)``."""

    def __init__(
        self, d_in: int, d_model: int, n_heads: int, n_layers: int, max_len: int, dropout: float
    ):
        super().__init__()
        self.proj = nn.Linear(d_in, d_model) if d_in != d_model else nn.Identity()
        self.position = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        # no dropout on attention weights: it would leave PyTorch's fused CPU kernel (6x slower)
        self.encoder = TransformerEncoder(
            d_model, n_heads, n_layers, dropout=dropout, attention_dropout=0.0
        )
        self.d_out = d_model

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = self.proj(x) + self.position[: x.shape[1]]  # (B, T, D_h)
        h, _ = self.encoder(x, valid_keys=mask)
        return h


class ChunkedEncoder(nn.Module):
    """Attention inside chunks of ``chunk`` tokens, a BiGRU over the chunk summaries.

    ``forward`` returns ``(states (B, S, 2H), chunk_mask (B, S), inner (B, S, chunk))`` with
    ``S = ceil(T / chunk)`` and ``inner`` the within-chunk attention weights.
    """

    def __init__(self, d_in: int, d_hidden: int, chunk: int, n_layers: int, dropout: float):
        super().__init__()
        self.chunk = chunk
        self.inner = AttentionPooling(d_in)
        self.rnn = RNNEncoder("gru", d_in, d_hidden, n_layers, dropout)
        self.d_out = self.rnn.d_out

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, t, d = x.shape
        s = math.ceil(t / self.chunk)
        pad = s * self.chunk - t
        x = F.pad(x, (0, 0, 0, pad)).view(b * s, self.chunk, d)  # (B*S, chunk, D)
        inner_mask = F.pad(mask, (0, pad)).view(b * s, self.chunk)  # (B*S, chunk)
        summaries, inner = self.inner(x, inner_mask, need_weights=True)  # (B*S, D), (B*S, c)
        chunk_mask = inner_mask.any(1).view(b, s)  # (B, S)
        states = self.rnn(summaries.view(b, s, d), chunk_mask)  # (B, S, 2H)
        return states, chunk_mask, inner.view(b, s, self.chunk)


def region_padding(size: int) -> tuple[int, int]:
    """Zeros before and after a text so region ``t`` is centred on token ``t``:
    ``(size - 1) // 2`` words before it, the rest after."""
    before = (size - 1) // 2
    return before, size - 1 - before


class RegionEmbedding(nn.Module):
    """Johnson & Zhang 2015's convolution over one-hot words as lookups: ``(B, T) -> (B, T, D)``.

    Region ``t`` covers the ``size`` words centred on token ``t`` (``(size - 1) // 2`` before
    it); its vector is ``sum_k E_k[w_{t - (size - 1) // 2 + k}]`` with one ``(V, D)`` table per
    position ``k`` (stored as one ``(size * V, D)`` table), i.e. a width-``size`` convolution
    with ``D`` filters over one-hot vectors, without the bias and activation. Padding (id 0)
    and positions outside the text contribute 0 (they all read row 0, kept at zero). One
    ``embedding_bag`` for all positions: its backward builds one dense gradient, not
    ``size``."""

    def __init__(self, vocab_size: int, dim: int, size: int):
        super().__init__()
        self.vocab_size, self.size = vocab_size, size
        self.table = nn.Embedding(size * vocab_size, dim, padding_idx=0)
        bound = 1.0 / math.sqrt(size * vocab_size)  # nn.Conv1d's init for this convolution
        with torch.no_grad():
            self.table.weight.uniform_(-bound, bound)
            self.table.weight[0] = 0

    def forward(self, tokens: Tensor) -> Tensor:
        padded = F.pad(tokens, region_padding(self.size))  # (B, T + size - 1)
        words = padded.unfold(1, self.size, 1)  # (B, T, size): the words of each region
        offsets = torch.arange(self.size, device=tokens.device) * self.vocab_size
        rows = torch.where(words == 0, 0, words + offsets)  # (B, T, size)
        summed = F.embedding_bag(  # sums each region's rows without a (B, T, size, D) copy
            rows.flatten(0, 1), self.table.weight, mode="sum", padding_idx=0
        )  # (B * T, D)
        return summed.view(*tokens.shape, -1)  # (B, T, D)


class RegionKnowledge(nn.Module):
    """Knowledge as extra input channels of the region convolution: ``h (B, T, D)`` (region
    vectors) plus ``sum_k W_k kn[t - (size - 1) // 2 + k]`` over the knowledge vectors
    ``kn (B, T, Dk)`` of the region's words -- what a convolution over each word's one-hot
    vector concatenated with its knowledge vector computes. Costs ``size * Dk * D`` per token,
    not the ``(D + Dk) * D`` of a dense fusion over 1000-wide region vectors. Same call as
    the fusion blocks: ``forward(h, kn) -> (h', None)``.

    ``init``: ``conv`` keeps nn.Conv1d's init over the ``Dk`` knowledge channels alone (bound
    ``1 / sqrt(size * Dk)``, far above the word filters' ``1 / sqrt(size * V)``); ``joint``
    scales it to the bound of one convolution over the ``V + Dk`` channels (needs
    ``vocab_size``); ``zero`` starts the filters at 0, so the model starts as the plain
    region CNN. All three draw the same random numbers, so runs differ only in this."""

    def __init__(
        self,
        knowledge_dim: int,
        dim: int,
        size: int,
        init: str = "conv",
        vocab_size: int | None = None,
    ):
        super().__init__()
        self.size = size
        self.conv = nn.Conv1d(knowledge_dim, dim, size, bias=False)
        with torch.no_grad():
            if init == "joint":
                if vocab_size is None:
                    raise UserError("RegionKnowledge: init 'joint' needs vocab_size")
                self.conv.weight.mul_(math.sqrt(knowledge_dim / (vocab_size + knowledge_dim)))
            elif init == "zero":
                self.conv.weight.zero_()
            elif init != "conv":
                raise UserError(f"RegionKnowledge: init must be conv, joint or zero, got {init!r}")

    def forward(self, h: Tensor, k: Tensor, need_weights: bool = False) -> tuple[Tensor, None]:
        padded = F.pad(k.transpose(1, 2), region_padding(self.size))  # (B, Dk, T + size - 1)
        return h + self.conv(padded).transpose(1, 2), None  # (B, T, D)


class RegionEncoder(nn.Module):
    """Bias and ReLU on the region vectors of :class:`RegionEmbedding`: ``(B, T, D)``.
    Padding positions are not zeroed: every pooling masks them."""

    def __init__(self, d_in: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(d_in))
        self.d_out = d_in

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return F.relu(x + self.bias)


class BagEncoder(nn.Module):
    """No encoder: ``(B, T, D) -> (B, T, D)`` unchanged, so pooling sees the embeddings."""

    def __init__(self, d_in: int):
        super().__init__()
        self.d_out = d_in

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return x


def pool(
    kind: str, h: Tensor, mask: Tensor, attention: AttentionPooling | None
) -> tuple[Tensor, Tensor]:
    """``h (B, S, D)``, ``mask (B, S)`` -> ``(pooled (B, D), weights (B, S))``; weights are
    exactly 0 on padding and sum to 1."""
    if kind == "attention":
        return attention(h, mask, need_weights=True)
    real = mask.unsqueeze(-1)  # (B, S, 1)
    if kind == "mean":
        weights = mask.float() / mask.sum(1, keepdim=True).clamp(min=1)  # (B, S)
        return torch.einsum("bs,bsd->bd", weights, h), weights
    pooled, winners = h.masked_fill(~real, float("-inf")).max(dim=1)  # (B, D), (B, D)
    won = torch.zeros(h.shape[:2], dtype=h.dtype, device=h.device)  # (B, S)
    weights = won.scatter_add_(1, winners, torch.ones_like(pooled)) / h.shape[2]  # share won
    return pooled.masked_fill(~mask.any(1, keepdim=True), 0.0), weights
