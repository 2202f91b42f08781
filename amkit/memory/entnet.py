"""Recurrent Entity Network (Henaff et al. 2017, "Tracking the World State with Recurrent
Entity Networks").

A bank of ``S`` memory slots, each a key ``w_j`` and a value ``h_j``, reads the story one
sentence at a time. Each sentence ``s_t`` opens a gate per slot and writes a candidate::

    g_j   = sigmoid(s_t . h_j + s_t . w_j)          (+ b_j with ``biases``)
    h~_j  = phi(U h_j + V w_j + W s_t)
    h_j  <- (h_j + g_j * h~_j) / ||h_j + g_j * h~_j||

with ``phi`` a PReLU. The question ``q`` then reads the slots by attention and the answer is
``y = R phi(q + H sum_j softmax(q . h_j) h_j)``. Sentences and the question are encoded as
``sum_i f_i * e_i``: word embeddings ``e_i`` times a learned multiplicative position mask
``f_i`` (one for stories, one for questions), as in the paper.

Keys are *free* (learned parameters) or *tied* to the embeddings of given words (the paper
ties them to entity words). Slots start at their keys. A padding sentence (no words) leaves
every slot untouched, so stories of different lengths batch together.

Legend: B batch, M sentences (memory slots of the data), L words per sentence, Lq question
words, S entity slots, d width, V vocabulary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.errors import UserError


class PositionMaskEncoder(nn.Module):
    """``sum_i f_i * E x_i``: a bag of words with a learned multiplicative position mask.

    Args:
        embedding: shared word embedding (index 0 is padding).
        max_len: longest sentence the mask covers.
    """

    def __init__(self, embedding: nn.Embedding, max_len: int):
        super().__init__()
        self.embedding = embedding
        self.mask = nn.Parameter(torch.ones(max_len, embedding.embedding_dim))  # f, (L, d)

    def forward(self, words: Tensor) -> Tensor:
        """``words (..., L)`` ids -> ``(..., d)``."""
        length = words.shape[-1]
        if length > self.mask.shape[0]:
            raise UserError(
                f"sentence of {length} words is longer than the position mask "
                f"({self.mask.shape[0]}); build the model with a larger max_len"
            )
        return (self.embedding(words.long()) * self.mask[:length]).sum(-2)


class FeaturePReLU(nn.Module):
    """PReLU with one slope shared by all features or one per feature of the *last* axis
    (``nn.PReLU`` puts channels on axis 1, which here holds the slots).

    Args:
        n_slopes: 1 or the feature width d.
        init: the slopes' start.
    """

    def __init__(self, n_slopes: int = 1, init: float = 0.25):
        super().__init__()
        self.weight = nn.Parameter(torch.full((n_slopes,), float(init)))

    def forward(self, x: Tensor) -> Tensor:
        """``x (..., d)`` -> same shape."""
        return x.clamp(min=0) + self.weight * x.clamp(max=0)


class EntityNetwork(nn.Module):
    """The dynamic memory and its output module.

    Args:
        vocab_size: V (index 0 is padding).
        sentence_len: longest story sentence L.
        query_len: longest question Lq.
        dim: d (paper: 100).
        n_slots: S (paper: 20).
        key_ids: ``(S,)`` word ids to tie the keys to their embeddings; ``None`` = free keys.
        init_std: weights start from N(0, init_std) (paper: 0.1).
        prelu_init: the PReLU slopes' start (torch's default 0.25; the authors' code: 1.0,
            so both nonlinearities start as the identity).
        prelu_per_channel: one slope per feature (the authors' code) instead of one in all.
        biases: a learned bias per slot in the gate and a bias in ``U h`` (the authors'
            code; the paper's equations have none).
    """

    def __init__(
        self,
        vocab_size: int,
        sentence_len: int,
        query_len: int,
        dim: int = 100,
        n_slots: int = 20,
        key_ids: list[int] | None = None,
        init_std: float = 0.1,
        prelu_init: float = 0.25,
        prelu_per_channel: bool = False,
        biases: bool = False,
    ):
        super().__init__()
        if key_ids is not None and len(key_ids) == 0:
            raise UserError("key_ids is empty: give the word ids to tie keys to, or None")
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.story_encoder = PositionMaskEncoder(self.embedding, sentence_len)
        self.query_encoder = PositionMaskEncoder(self.embedding, query_len)
        if key_ids is None:
            self.free_keys = nn.Parameter(torch.empty(n_slots, dim))
            self.register_buffer("key_ids", None)
        else:
            self.free_keys = None
            self.register_buffer("key_ids", torch.tensor(key_ids, dtype=torch.long))
        self.U = nn.Linear(dim, dim, bias=biases)
        self.V = nn.Linear(dim, dim, bias=False)
        self.W = nn.Linear(dim, dim, bias=False)
        slopes = dim if prelu_per_channel else 1
        self.phi = FeaturePReLU(slopes, init=prelu_init)
        self.H = nn.Linear(dim, dim, bias=False)
        self.R = nn.Linear(dim, vocab_size, bias=False)
        self.out_phi = FeaturePReLU(slopes, init=prelu_init)
        n_keys = n_slots if key_ids is None else len(key_ids)
        self.gate_bias = nn.Parameter(torch.empty(n_keys)) if biases else None  # (S,)
        initialised = (
            self.embedding.weight, self.U.weight, self.V.weight, self.W.weight,
            self.U.bias, self.gate_bias, self.H.weight, self.R.weight, self.free_keys,
        )  # fmt: skip
        for p in initialised:  # in this order, so a seed draws the same weights
            if p is not None:
                nn.init.normal_(p, std=init_std)
        with torch.no_grad():
            self.embedding.weight[0].zero_()

    @property
    def n_slots(self) -> int:
        return len(self.key_ids) if self.free_keys is None else self.free_keys.shape[0]

    def keys(self) -> Tensor:
        """``(S, d)`` the slot keys ``w_j``."""
        return self.free_keys if self.free_keys is not None else self.embedding(self.key_ids)

    def compile_step(self) -> None:
        """Run ``step`` through ``torch.compile``: its dozen small element-wise operations
        become a few fused kernels (~1.4x faster epochs on bAbI 10k on one CPU thread, see
        docs/memory.md; the outputs agree with eager to float rounding). The first call for each new
        shape compiles for tens of seconds."""
        self.step = torch.compile(self.step)

    def step(
        self, h: Tensor, keys: Tensor, s: Tensor, real: Tensor, fixed: tuple[Tensor, ...] = ()
    ) -> tuple[Tensor, Tensor]:
        """One sentence: ``h (B, S, d)``, ``s (B, d)``, ``real (B,)`` -> ``h``, gates ``(B, S)``.

        ``fixed``: ``(s @ keys.T (B, S), W s (B, d), V keys (S, d))`` when the caller computed
        them for every sentence at once; the same numbers either way.
        """
        s_keys, w_s, v_keys = fixed or (s @ keys.T, self.W(s), self.V(keys))
        logit = (h * s.unsqueeze(1)).sum(-1) + s_keys  # (B, S)
        gate = torch.sigmoid(logit if self.gate_bias is None else logit + self.gate_bias)
        gate = gate * real.unsqueeze(-1)  # padding sentences open no gate
        candidate = self.phi(self.U(h) + v_keys + w_s.unsqueeze(1))  # (B, S, d)
        updated = h + gate.unsqueeze(-1) * candidate
        updated = updated / updated.norm(dim=-1, keepdim=True).clamp(min=1e-6)
        h = torch.where(real.view(-1, 1, 1), updated, h)
        return h, gate

    def forward(
        self, story: Tensor, query: Tensor, need_weights: bool = False
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Read ``story (B, M, L)`` sentence by sentence, answer ``query (B, Lq)``.

        Returns:
            ``(logits (B, V), weights)``; with ``need_weights`` the weights hold ``gates``
            ``(B, M, S)`` (each sentence's gate per slot, 0 for padding sentences) and
            ``slots`` ``(B, S)`` (the question's attention over the slots).
        """
        batch, n_sentences = story.shape[:2]
        sentences = self.story_encoder(story)  # (B, M, d)
        real = (story != 0).any(-1)  # (B, M)
        keys = self.keys()  # (S, d)
        h = keys.unsqueeze(0).expand(batch, -1, -1)  # (B, S, d)
        last = int(real.any(0).nonzero().max()) + 1 if real.any() else 0
        gates = []
        # what does not depend on the slots, for all sentences in three products; unbind
        # (not indexing per step) so backward stacks the gradients once
        read_in = sentences[:, :last]  # (B, M', d)
        s_keys = (read_in @ keys.T).unbind(1)  # (B, S) per sentence
        w_s = self.W(read_in).unbind(1)  # (B, d) per sentence
        v_keys = self.V(keys)  # (S, d)
        pairs = zip(read_in.unbind(1), real[:, :last].unbind(1), strict=True)
        for t, (s, is_real) in enumerate(pairs):
            h, gate = self.step(h, keys, s, is_real, (s_keys[t], w_s[t], v_keys))
            gates.append(gate)
        q = self.query_encoder(query)  # (B, d)
        read = F.softmax((h @ q.unsqueeze(-1)).squeeze(-1), dim=-1)  # (B, S)
        u = (read.unsqueeze(-1) * h).sum(1)  # (B, d)
        logits = self.R(self.out_phi(q + self.H(u)))  # (B, V)
        weights: dict[str, Tensor] = {}
        if need_weights:
            all_gates = story.new_zeros(batch, n_sentences, self.n_slots, dtype=h.dtype)
            if gates:
                all_gates[:, :last] = torch.stack(gates, 1)
            weights = {"gates": all_gates, "slots": read}
        return logits, weights
