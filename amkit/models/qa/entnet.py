"""Recurrent Entity Network answering bAbI questions (Henaff et al. 2017, "Tracking the
World State with Recurrent Entity Networks").

Legend: B batch, M memory slots (sentences), L words, Lq question words, V vocabulary,
S memory slots of the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.memory.entnet import EntityNetwork
from amkit.models.base import ModelOutput, register_model
from amkit.models.qa.common import answer_with_loss, padding_column

__all__ = ["EntNetConfig", "EntNetOutput", "EntNetQA"]


@dataclass
class EntNetOutput(ModelOutput):
    """:class:`EntNetQA`'s output; the weights come with ``need_weights``.

    Attributes:
        gates: ``(B, M, S)`` the gate each memory slot opened for each sentence (which slot
            took which sentence; 0 at padding sentences).
        slots: ``(B, S)`` the question's attention over the slots.
    """

    gates: Tensor | None = None
    slots: Tensor | None = None


@dataclass
class EntNetConfig:
    """Defaults: the paper's bAbI model (Henaff et al. 2017: d=100, 20 slots, free keys)."""

    d_model: int = option(100, ge=1)
    slots: int = option(20, ge=1)
    keys: Literal["free", "tied"] = "free"
    key_words: list[str] = field(default_factory=list)  # tied keys: these words' embeddings
    init_std: float = option(0.1, gt=0)
    # details of the authors' Torch code that the paper's equations leave out (defaults: off)
    prelu_init: float = 0.25  # the authors' code: 1.0 (both PReLUs start as the identity)
    prelu_per_channel: bool = False  # the authors' code: one slope per feature
    biases: bool = False  # the authors' code: a gate bias per slot and a bias in U h

    def validate(self) -> list[str]:
        if self.keys == "tied" and not self.key_words:
            return [
                "model.key_words: tied keys need the words to tie them to, e.g. "
                "[mary, john, kitchen, football]"
            ]
        return []


@register_model("entnet", config=EntNetConfig)
class EntNetQA(nn.Module):
    """Recurrent Entity Network on bAbI; ``forward(story, query, targets=None)``.

    Returns an :class:`EntNetOutput`; with ``need_weights`` its ``gates`` ``(B, M, S)``
    (which slot took which sentence) and ``slots`` ``(B, S)`` (the question's read over the
    slots).
    """

    def __init__(self, config: EntNetConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        key_ids = None
        if config.keys == "tied":
            index = {w: i for i, w in enumerate(data_info.vocab)}
            missing = [w for w in config.key_words if w not in index]
            if missing:
                raise UserError(f"model.key_words not in the vocabulary: {missing}")
            key_ids = [index[w] for w in config.key_words]
        self.entnet = EntityNetwork(
            data_info.vocab_size,
            data_info.sentence_len,
            data_info.query_len,
            dim=config.d_model,
            n_slots=config.slots,
            key_ids=key_ids,
            init_std=config.init_std,
            prelu_init=config.prelu_init,
            prelu_per_channel=config.prelu_per_channel,
            biases=config.biases,
        )
        self.register_buffer("pad_column", padding_column(data_info.vocab_size), persistent=False)

    def compile_steps(self) -> None:
        """``train.compile``: compile the per-sentence memory update."""
        self.entnet.compile_step()

    def forward(self, story, query, targets=None, need_weights: bool = False) -> EntNetOutput:
        """story ``(B, M, L)``, query ``(B, Lq)``, targets ``(B,)`` vocabulary ids."""
        logits, weights = self.entnet(story, query, need_weights=need_weights)
        logits, loss = answer_with_loss(logits, self.pad_column, targets)
        return EntNetOutput(logits=logits, loss=loss, **weights)
