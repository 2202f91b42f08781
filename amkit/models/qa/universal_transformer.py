"""Universal Transformer answering bAbI questions (Dehghani et al. 2019, "Universal
Transformers"), with optional MemN2N-style options (linear start, answer tying, a copy
readout) that the paper does not have; each option's comment says what it changes.

Legend: B batch, M memory slots (sentences), L words, Lq question words, V vocabulary,
K steps, H heads, T positions (sentences, then the question).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.encoders import pool
from amkit.memory.entnet import PositionMaskEncoder
from amkit.memory.memn2n import ages_from_newest
from amkit.memory.universal_transformer import UniversalTransformer, set_identity
from amkit.models.base import ModelOutput, not_attention, register_model
from amkit.models.qa.common import (
    answer_with_loss,
    linear_start_epoch_end,
    padding_column,
    register_linear_start,
    sentences_then_question,
    up_to_last_sentence,
)

__all__ = ["CopyPointer", "UTConfig", "UTQAOutput", "UniversalTransformerQA"]


@dataclass
class UTQAOutput(ModelOutput):
    """:class:`UniversalTransformerQA`'s output; the fields come with ``need_weights``.
    Position ``T - 1`` is the question, the others the story's sentences (all M slots).

    Attributes:
        steps: ``(B, K, H, T, T)`` each step's self-attention (K: the steps taken by some
            position of the batch).
        ponder: ``(B, T)`` how many steps each position took (not attention weights).
        halting: ``(B, K, T)`` each step's halting weight (with ACT; sums to 1 over K).
        pointer: ``(B, M)`` the copy readout's attention over the sentences (``pointer:
            true``).
    """

    steps: Tensor | None = None
    ponder: Tensor | None = not_attention()
    halting: Tensor | None = None
    pointer: Tensor | None = None


class CopyPointer(nn.Module):
    """A copy readout over the story's words: ``read (B, d)`` attends (one head, scaled dot
    product) over the sentence states ``(B, M, d)``; word ``w`` gets the weight of every
    sentence that holds it, ``pointer[b, w] = sum_s a[b, s] * count(w in story[b, s])``, and
    the answer logits gain ``strength(read) * pointer``, ``strength = softplus(w . read + c)``.

    ``forward(read, states, story (B, M, L), real (B, M)) -> (bonus (B, V), a (B, M))``."""

    def __init__(self, d_model: int, vocab_size: int):
        super().__init__()
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.strength = nn.Linear(d_model, 1)
        nn.init.constant_(self.strength.bias, 2.0)  # softplus(2) ~ 2.1 logits for a full copy
        self.vocab_size = vocab_size

    def forward(self, read: Tensor, states: Tensor, story: Tensor, real: Tensor):
        scores = torch.einsum("bd,bmd->bm", self.query(read), self.key(states))
        scores = scores / math.sqrt(read.shape[-1])
        weights = masked_softmax(scores, real)  # (B, M); no sentence: all 0, points nowhere
        batch, slots, words = story.shape
        per_word = weights.unsqueeze(-1).expand(batch, slots, words) * (story != 0)
        pointer = read.new_zeros(batch, self.vocab_size)
        pointer.scatter_add_(1, story.reshape(batch, -1), per_word.reshape(batch, -1))
        return F.softplus(self.strength(read)) * pointer, weights


@dataclass
class UTConfig:
    """Defaults: the UT paper's bAbI setting as far as it is given (Dehghani et al. 2019:
    sentences as position-masked bags of words, sinusoidal position and step coordinates,
    ACT with at most 8 steps; d=128, 4 heads). Positions count back from the question, which
    the paper does not specify."""

    d_model: int = option(128, ge=1)
    n_heads: int = option(4, ge=1)
    d_ff: int = option(256, ge=1)
    max_steps: int = option(8, ge=1)
    act: bool = True
    threshold: float = option(0.99, gt=0, le=1)
    act_loss_weight: float = option(0.001, ge=0)  # weight of the ponder cost in the loss
    dropout: float = option(0.1, ge=0, lt=1)
    # position and step embeddings: the paper's fixed sinusoids, or learned tables
    coordinates: Literal["sinusoidal", "learned"] = "sinusoidal"
    # from_question: a sentence's position is its distance from the question (question 0,
    # newest sentence 1, ...; MemN2N's temporal order), so "latest" means the same in every
    # story; from_start: the slot index, the question at memory_size
    positions: Literal["from_question", "from_start"] = "from_question"
    # above 0: a learned per-head attention bias of the position difference clipped to
    # +-relative_distance (Shaw et al. 2018; not in the UT paper); 0: the paper's model
    relative_distance: int = option(0, ge=0)
    # where the answer is read: the question's position after the last step, or the mean
    # over every real position (sentences and question), as the paper's tensor2tensor code
    # does (its class-label output layer averages the encoder's outputs)
    readout: Literal["question", "mean"] = "question"
    # MemN2N's linear start (not in the UT paper): self-attention without its softmax (the
    # weights are the scaled scores) until validation loss stops falling for ls_patience
    # epochs or ls_max_epochs have passed; then the softmax, and the schedule starts again
    linear_start: bool = False
    ls_max_epochs: int = option(20, ge=1)
    ls_patience: int = option(3, ge=1)
    # independent: the query and key projections start as two random matrices (the paper);
    # equal: the key projection starts as a copy of the query one, so a position's score
    # with a position of the same content starts positive (|W x|^2), as MemN2N's u . m does
    # with the question and the memories embedded alike. Only the start: they train apart.
    qk_init: Literal["independent", "equal"] = "independent"
    # all: every position is updated at every step (the paper); question: only the
    # question's, the sentences stay as encoded and are read, as MemN2N's hops read memories
    update: Literal["all", "question"] = "all"
    # what each step has of its own: none (the paper: one shared layer), keys (a map
    # before the key projection, identity at the start), layer (no sharing at all)
    per_step: Literal["none", "keys", "layer"] = "none"
    # the answer layer: its own linear map (the paper), or the word embedding itself,
    # logits = read . E_w / sqrt(d), as MemN2N ties W^T = C^K: the model answers with the
    # word its final state resembles. MemN2N without that tie fails bAbI task 16
    # (docs/memory.md)
    tie_answer: bool = False
    # random: value and output projections start random (the paper); identity: they start
    # as the identity, so what a step attends to enters the state as it is (with
    # tie_answer, a retrieved word is at once a likely answer, as in MemN2N)
    vo_init: Literal["random", "identity"] = "random"
    # transformer: a step is the paper's pre-norm attention + feed-forward layer;
    # attention: x + Attn(x) alone (no layer norm or feed-forward inside), as MemN2N's hop
    block: Literal["transformer", "attention"] = "transformer"
    # the word embedding starts from N(0, embedding_std^2) (1: PyTorch's default; MemN2N:
    # 0.1, which keeps its linear start's scores small)
    embedding_std: float = option(1.0, gt=0)
    # a copy readout (not in the UT paper): the question's final state attends once over the
    # sentences' final states (one head) and every word of a sentence gets that weight; the
    # answer logits add that pointer mass times a learned, per-question strength
    # (softplus, >= 0: 0 leaves the answer layer alone, as yes/no and counting answers
    # need). What MemN2N's answer tie W^T = C^K gives it: a retrieved word is a likely
    # answer, and the answer's gradient reaches the attention directly.
    pointer: bool = False

    def validate(self) -> list[str]:
        if self.d_model % self.n_heads:
            return [
                f"model.d_model ({self.d_model}) must be divisible by model.n_heads "
                f"({self.n_heads})"
            ]
        return []


@register_model("universal_transformer", config=UTConfig)
class UniversalTransformerQA(nn.Module):
    """Universal Transformer over the story's sentences and the question (last position);
    the answer is read at the question's position or, with ``readout: mean``, from the mean
    over the real positions.

    Returns a :class:`UTQAOutput`; with ``need_weights`` its ``steps`` ``(B, K, H, T, T)``
    (each step's self-attention; position ``T - 1`` is the question), ``ponder`` ``(B, T)``,
    ``halting`` ``(B, K, T)`` and the copy readout's ``pointer`` ``(B, M)``.
    """

    def __init__(self, config: UTConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        vocab_size = data_info.vocab_size
        self.embedding = nn.Embedding(vocab_size, config.d_model, padding_idx=0)
        if config.embedding_std != 1.0:
            nn.init.normal_(self.embedding.weight, std=config.embedding_std)
            with torch.no_grad():
                self.embedding.weight[0].zero_()
        self.story_encoder = PositionMaskEncoder(self.embedding, data_info.sentence_len)
        self.query_encoder = PositionMaskEncoder(self.embedding, data_info.query_len)
        self.encoder = UniversalTransformer(
            config.d_model,
            config.n_heads,
            max_positions=data_info.memory_size + 1,
            max_steps=config.max_steps,
            act=config.act,
            threshold=config.threshold,
            d_ff=config.d_ff,
            dropout=config.dropout,
            coordinates=config.coordinates,
            relative_distance=config.relative_distance,
            update="last" if config.update == "question" else "all",
            per_step=config.per_step,
            block=config.block,
        )
        # tie_answer: the logits come from self.embedding (answer_logits); no layer of its own
        self.answer = None if config.tie_answer else nn.Linear(config.d_model, vocab_size)
        self.pointer = CopyPointer(config.d_model, vocab_size) if config.pointer else None
        self.register_buffer("pad_column", padding_column(vocab_size), persistent=False)
        register_linear_start(self, config.linear_start)
        with torch.no_grad():
            for attn in self.encoder.attention_layers():
                if config.qk_init == "equal":
                    attn.k_proj.weight.copy_(attn.q_proj.weight)
                    attn.k_proj.bias.copy_(attn.q_proj.bias)
                if config.vo_init == "identity":
                    set_identity(attn.v_proj)
                    set_identity(attn.out_proj)

    def forward(self, story, query, targets=None, need_weights: bool = False) -> UTQAOutput:
        """story ``(B, M, L)``, query ``(B, Lq)``, targets ``(B,)`` vocabulary ids."""
        full_length = story.shape[1]
        if not need_weights:  # drop the empty slots after the batch's last sentence: same
            # output, less work; explain sees all slots
            story = up_to_last_sentence(story)
        inputs, real = sentences_then_question(self, story, query)  # (B, M' + 1, d)
        if self.config.positions == "from_question":
            # the question 0, the newest sentence 1, ...: (B, M' + 1)
            positions = ages_from_newest(real.long())
        else:  # slot index; the question keeps position M whatever was dropped
            positions = torch.arange(inputs.shape[1], device=story.device)
            positions[-1] = full_length
        encoded = self.encoder(
            inputs,
            valid_keys=real,
            need_weights=need_weights,
            positions=positions,
            linear=bool(self.linear_phase),  # linear start: no softmax in the self-attention
        )
        if self.config.readout == "mean":  # (B, d): the mean over the real positions
            read, _ = pool("mean", encoded.states, real, None)
        else:
            read = encoded.states[:, -1]  # (B, d): the question's position
        logits = self.answer_logits(read)
        if self.pointer is not None:
            bonus, pointed = self.pointer(read, encoded.states[:, :-1], story, real[:, :-1])
            logits = logits + bonus
        logits, loss = answer_with_loss(logits, self.pad_column, targets)
        if loss is not None and self.config.act:
            loss = loss + self.config.act_loss_weight * encoded.ponder_cost.mean()
        out = UTQAOutput(logits=logits, loss=loss)
        if need_weights:
            out.steps, out.ponder, out.halting = encoded.attention, encoded.steps, encoded.halting
            if self.pointer is not None:
                out.pointer = pointed
        return out

    def answer_logits(self, read: Tensor) -> Tensor:
        """``read (B, d)`` -> logits ``(B, V)``: the answer layer, or with ``tie_answer`` the
        word embedding ``E (V, d)``: ``read E^T / sqrt(d)`` (unit-variance states and N(0, 1)
        embeddings give logits of unit variance)."""
        if self.answer is not None:
            return self.answer(read)
        return read @ self.embedding.weight.T / math.sqrt(self.embedding.embedding_dim)

    def epoch_end(self, epoch: int, record: dict) -> dict | None:
        """Trainer hook: end the linear start, if any (:func:`linear_start_epoch_end`)."""
        return linear_start_epoch_end(
            self, epoch, record, self.config.ls_patience, self.config.ls_max_epochs,
            "softmax back in the self-attention",
        )  # fmt: skip
