"""Question answering over a story memory: MemN2N on bAbI (Sukhbaatar et al. 2015).

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

Legend: B batch, M memory slots, L words, K hops, V vocabulary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.experiments.config import option
from amkit.memory.memn2n import MemN2N
from amkit.models.base import ModelOutput, register_model

log = logging.getLogger("amkit")


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


@register_model("memn2n", config=MemN2NConfig)
class MemN2NQA(nn.Module):
    """MemN2N answering bAbI questions; ``forward(story, query, targets=None)``."""

    def __init__(self, config: MemN2NConfig, data_info: dict):
        super().__init__()
        self.config = config
        self.memory = MemN2N(
            vocab_size=data_info["vocab_size"],
            memory_size=data_info["memory_size"],
            dim=config.d_model,
            hops=config.hops,
            encoding=config.encoding,
            temporal=config.temporal,
            tying=config.tying,
            random_noise=config.random_noise,
            init_std=config.init_std,
            rn_mode=config.rn_mode,
            empty_slots=config.empty_slots,
        )
        # Linear-start state lives in buffers so checkpoints and resume carry it.
        self.register_buffer("linear_phase", torch.tensor(config.linear_start))
        self.register_buffer("linear_best_val_loss", torch.tensor(float("inf")))
        self.register_buffer("linear_bad_epochs", torch.tensor(0))
        pad_column = torch.zeros(data_info["vocab_size"], dtype=torch.bool)
        pad_column[0] = True
        self.register_buffer("pad_column", pad_column, persistent=False)

    def forward(
        self,
        story: Tensor,
        query: Tensor,
        targets: Tensor | None = None,
        need_weights: bool = False,
    ) -> ModelOutput:
        """story ``(B, M, L)``, query ``(B, Lq)``, targets ``(B,)`` vocabulary ids."""
        u, weights = self.memory(
            story, query, linear=bool(self.linear_phase), need_weights=need_weights
        )  # (B, d), (B, K, M)
        logits = u @ self.memory.answer_weight.T  # (B, V)
        # Padding is never an answer; masking its logit also keeps W's padding row (which is
        # C^K's with adjacent tying) at zero, so padding words never enter the memories.
        logits = logits.masked_fill(self.pad_column, torch.finfo(logits.dtype).min)
        loss = F.cross_entropy(logits, targets) if targets is not None else None
        attention = {"hops": weights} if weights is not None else {}
        return ModelOutput(logits=logits, loss=loss, attention=attention)

    def epoch_end(self, epoch: int, record: dict) -> dict | None:
        """Trainer hook: end linear start when validation loss stops falling.

        Returns ``{"hold_schedule": True}`` while linear start goes on (its learning rate
        stays constant, as in the authors' code) and ``{"restart_schedule": True}`` when the
        softmax goes back in.
        """
        if not bool(self.linear_phase):
            return None
        val_loss = record["val_loss"]
        if val_loss < float(self.linear_best_val_loss):
            self.linear_best_val_loss.fill_(val_loss)
            self.linear_bad_epochs.zero_()
        else:
            self.linear_bad_epochs += 1
        stalled = int(self.linear_bad_epochs) >= self.config.ls_patience
        if stalled or epoch >= self.config.ls_max_epochs:
            self.linear_phase.fill_(False)
            record["linear_start_ended"] = True
            log.info("epoch %d: linear start ends, softmax back in the memory layers", epoch)
            return {"restart_schedule": True}
        return {"hold_schedule": True}
