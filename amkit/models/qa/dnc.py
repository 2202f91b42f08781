"""Differentiable Neural Computer answering bAbI questions (Graves et al. 2016, "Hybrid
computing using a neural network with dynamic external memory").

Legend: B batch, M memory slots (sentences), L words, Lq question words, V vocabulary,
T steps, N memory rows, R read heads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.memory.dnc import DNC
from amkit.memory.entnet import PositionMaskEncoder
from amkit.models.base import ModelOutput, register_model
from amkit.models.qa.common import (
    answer_with_loss,
    padding_column,
    sentences_then_question,
    up_to_last_sentence,
)

__all__ = ["DNCConfig", "DNCOutput", "DNCQA"]


@dataclass
class DNCOutput(ModelOutput):
    """:class:`DNCQA`'s output; the weights come with ``need_weights``, one row per input
    step ``T`` (padding steps: the state they did not change).

    Attributes:
        write: ``(B, T, N)`` the write weights over the memory rows.
        read: ``(B, T, R, N)`` each read head's weights over the memory rows.
        allocation_gate: ``(B, T)`` the share of the write that went to free rows.
        write_gate: ``(B, T)`` how much was written at all.
    """

    write: Tensor | None = None
    read: Tensor | None = None
    allocation_gate: Tensor | None = None
    write_gate: Tensor | None = None


@dataclass
class DNCConfig:
    """Defaults: the paper's bAbI DNC (Graves et al. 2016: LSTM 256, N=256, W=64, R=4, one
    word per step). ``step: sentence`` feeds one position-masked bag of words per sentence
    instead: about 7x fewer steps, not the paper's setting."""

    d_model: int = option(64, ge=1)  # word embedding width (the paper used one-hot words)
    hidden_size: int = option(256, ge=1)
    memory_slots: int = option(256, ge=1)
    word_size: int = option(64, ge=1)
    read_heads: int = option(4, ge=1)
    step: Literal["word", "sentence"] = "word"
    clip: float = option(20.0, gt=0)
    # the robust DNC of Franke et al. 2018 (ADNC): off by default, see amkit.memory.dnc
    controller_norm: bool = False
    interface_norm: bool = False
    bypass_dropout: float = option(0.0, ge=0, lt=1)
    links: bool = True


@register_model("dnc", config=DNCConfig)
class DNCQA(nn.Module):
    """Differentiable Neural Computer on bAbI; ``forward(story, query, targets=None)``.

    The story then the question are fed one step at a time (words, with an end-of-sentence
    and an end-of-question marker; or sentences); the answer is read from the output of the
    last step. Returns a :class:`DNCOutput`; with ``need_weights`` it holds the DNC's
    ``write`` ``(B, T, N)`` and ``read`` ``(B, T, R, N)`` weights and its gates ``(B, T)``.
    """

    def __init__(self, config: DNCConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        vocab_size = data_info.vocab_size
        self.end_of_sentence, self.end_of_question = vocab_size, vocab_size + 1
        self.embedding = nn.Embedding(vocab_size + 2, config.d_model, padding_idx=0)
        if config.step == "sentence":
            self.story_encoder = PositionMaskEncoder(self.embedding, data_info.sentence_len)
            self.query_encoder = PositionMaskEncoder(self.embedding, data_info.query_len)
        self.dnc = DNC(
            config.d_model,
            vocab_size,
            hidden_size=config.hidden_size,
            memory_slots=config.memory_slots,
            word_size=config.word_size,
            read_heads=config.read_heads,
            clip=config.clip,
            controller_norm=config.controller_norm,
            interface_norm=config.interface_norm,
            bypass_dropout=config.bypass_dropout,
            links=config.links,
        )
        self.register_buffer("pad_column", padding_column(vocab_size), persistent=False)

    def word_steps(self, story: Tensor, query: Tensor) -> tuple[Tensor, Tensor]:
        """Token ids ``(B, T)`` with the markers, real tokens first, and their mask."""
        batch = story.shape[0]
        story, query = story.long(), query.long()
        real = (story != 0).any(-1, keepdim=True)  # (B, M, 1)
        marker = torch.full_like(story[..., :1], self.end_of_sentence) * real
        question_end = torch.full_like(query[:, :1], self.end_of_question)
        tokens = torch.cat([torch.cat([story, marker], -1).view(batch, -1), query, question_end], 1)
        order = torch.argsort((tokens == 0).int(), dim=1, stable=True)  # real tokens first
        tokens = tokens.gather(1, order)
        length = int((tokens != 0).sum(1).max())
        tokens = tokens[:, :length]
        return tokens, tokens != 0

    def forward(self, story, query, targets=None, need_weights: bool = False) -> DNCOutput:
        """story ``(B, M, L)``, query ``(B, Lq)``, targets ``(B,)`` vocabulary ids."""
        if self.config.step == "word":
            tokens, mask = self.word_steps(story, query)
            inputs = self.embedding(tokens)  # (B, T, d)
        else:
            # no step past the last sentence: (B, M' + 1, d)
            inputs, mask = sentences_then_question(self, up_to_last_sentence(story), query)
        outputs, _, weights = self.dnc(inputs, mask, need_weights=need_weights)
        last = mask.long().cumsum(1).argmax(1)  # (B,) index of each example's last real step
        logits = outputs[torch.arange(len(last), device=last.device), last]  # (B, V)
        logits, loss = answer_with_loss(logits, self.pad_column, targets)
        return DNCOutput(logits=logits, loss=loss, **weights)
