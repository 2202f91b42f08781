"""MemN2N answering bAbI questions (Sukhbaatar et al. 2015, "End-To-End Memory Networks").

The answer is a vocabulary word: ``logits = (o^K + u^K) W^T`` over the vocabulary, as in the
paper (with adjacent tying ``W^T = C^K``).

Deviations from the paper, and why:

- the loss is the *mean* cross-entropy over the batch; the paper's code sums it. With plain
  SGD the two are the same once the learning rate and the clipping norm are scaled by the
  batch size, which the shipped configs do (lr 0.01 * 32, clip 40 / 32).
- linear start ends when validation loss has not improved for ``ls_patience`` epochs, or
  after ``ls_max_epochs`` epochs, whichever comes first (the paper: "when validation loss
  stops decreasing"; the authors' code runs a fixed 20 epochs per task, 30 joint). As in
  their code, the learning-rate schedule starts again when the softmax is put back.

Legend: B batch, M memory slots (sentences), L words, Lq question words, V vocabulary,
K hops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.memory.memn2n import MemN2N
from amkit.models.base import ModelOutput, register_model
from amkit.models.qa.common import (
    answer_with_loss,
    linear_start_epoch_end,
    padding_column,
    register_linear_start,
)

__all__ = ["MemN2NConfig", "MemN2NOutput", "MemN2NQA"]


@dataclass
class MemN2NOutput(ModelOutput):
    """:class:`MemN2NQA`'s output.

    Attributes:
        hops: ``(B, K, M)`` each hop's attention over the memory slots (0 at empty slots);
            with ``need_weights``.
    """

    hops: Tensor | None = None


@dataclass
class MemN2NConfig:
    """Defaults: the paper's joint-training model (PE LS RN, 3 hops, adjacent tying, d=50)."""

    d_model: int = option(50, ge=1)  # paper: 20 per task, 50 joint
    hops: int = option(3, ge=1)
    encoding: Literal["pe", "pe_code", "bow"] = "pe"  # pe_code: the authors' code's PE
    temporal: bool = True
    tying: Literal["adjacent", "layerwise", "none"] = "adjacent"
    linear_start: bool = True
    ls_max_epochs: int = option(30, ge=1)  # linear start never lasts longer than this
    ls_patience: int = option(3, ge=1)  # epochs without a lower val loss that end LS
    random_noise: float = option(0.1, ge=0, lt=1)  # RN: share of blank memories at training
    rn_mode: Literal["paper", "code"] = "paper"  # code: the authors' code's way to draw blanks
    empty_slots: bool = False  # authors' code: empty memory slots stay in the softmax as zeros
    init_std: float = option(0.1, gt=0)
    # adjacent tying's B = A^1 and W^T = C^K (the paper); false: a matrix of their own
    tie_question: bool = True
    tie_answer: bool = True

    def validate(self) -> list[str]:
        if self.tying != "adjacent" and not (self.tie_question and self.tie_answer):
            return [f"model.tie_question/tie_answer apply to adjacent tying, not {self.tying!r}"]
        return []


@register_model("memn2n", config=MemN2NConfig)
class MemN2NQA(nn.Module):
    """MemN2N answering bAbI questions; ``forward(story, query, targets=None)``."""

    def __init__(self, config: MemN2NConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        self.memory = MemN2N(
            vocab_size=data_info.vocab_size,
            memory_size=data_info.memory_size,
            dim=config.d_model,
            hops=config.hops,
            encoding=config.encoding,
            temporal=config.temporal,
            tying=config.tying,
            random_noise=config.random_noise,
            init_std=config.init_std,
            rn_mode=config.rn_mode,
            empty_slots=config.empty_slots,
            tie_question=config.tie_question,
            tie_answer=config.tie_answer,
        )
        register_linear_start(self, config.linear_start)
        self.register_buffer("pad_column", padding_column(data_info.vocab_size), persistent=False)

    def forward(
        self,
        story: Tensor,
        query: Tensor,
        targets: Tensor | None = None,
        need_weights: bool = False,
    ) -> MemN2NOutput:
        """story ``(B, M, L)``, query ``(B, Lq)``, targets ``(B,)`` vocabulary ids."""
        u, weights = self.memory(
            story, query, linear=bool(self.linear_phase), need_weights=need_weights
        )  # (B, d), (B, K, M)
        logits = u @ self.memory.answer_weight.T  # (B, V)
        # Padding is never an answer; masking its logit also keeps W's padding row (which is
        # C^K's with adjacent tying) at zero, so padding words never enter the memories.
        logits, loss = answer_with_loss(logits, self.pad_column, targets)
        return MemN2NOutput(logits=logits, loss=loss, hops=weights)

    def epoch_end(self, epoch: int, record: dict) -> dict | None:
        """Trainer hook: end linear start when validation loss stops falling
        (:func:`linear_start_epoch_end`)."""
        return linear_start_epoch_end(
            self, epoch, record, self.config.ls_patience, self.config.ls_max_epochs,
            "softmax back in the memory layers",
        )  # fmt: skip
