"""What the bAbI question-answering models share: the answer over the vocabulary, MemN2N's
linear start, and the story as sentence vectors.

Legend: B batch, M memory slots (sentences), L words, Lq question words, V vocabulary,
d width.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn

log = logging.getLogger("amkit")

__all__ = [
    "answer_with_loss",
    "linear_start_epoch_end",
    "padding_column",
    "register_linear_start",
    "sentences_then_question",
    "up_to_last_sentence",
]


def register_linear_start(model: nn.Module, enabled: bool) -> None:
    """Linear-start state in buffers, so checkpoints and resume carry it."""
    model.register_buffer("linear_phase", torch.tensor(enabled))
    model.register_buffer("linear_best_val_loss", torch.tensor(float("inf")))
    model.register_buffer("linear_bad_epochs", torch.tensor(0))


def linear_start_epoch_end(
    model: nn.Module, epoch: int, record: dict, patience: int, max_epochs: int, what: str
) -> dict | None:
    """End a model's linear start when validation loss has not fallen for ``patience``
    epochs or after ``max_epochs``.

    Returns ``{"hold_schedule": True}`` while linear start goes on (an epoch-wise schedule
    holds its learning rate, as in the MemN2N authors' code; the per-step warm-up goes on)
    and ``{"restart_schedule": True}`` when the softmax goes back in.
    """
    if not bool(model.linear_phase):
        return None
    val_loss = record["val_loss"]
    if val_loss < float(model.linear_best_val_loss):
        model.linear_best_val_loss.fill_(val_loss)
        model.linear_bad_epochs.zero_()
    else:
        model.linear_bad_epochs += 1
    if int(model.linear_bad_epochs) >= patience or epoch >= max_epochs:
        model.linear_phase.fill_(False)
        record["linear_start_ended"] = True
        log.info("epoch %d: linear start ends, %s", epoch, what)
        return {"restart_schedule": True}
    return {"hold_schedule": True}


def answer_with_loss(
    logits: Tensor, pad_column: Tensor, targets: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    """Mask padding out of the answer logits ``(B, V)``; cross-entropy when targets are given."""
    logits = logits.masked_fill(pad_column, torch.finfo(logits.dtype).min)
    return logits, (F.cross_entropy(logits, targets) if targets is not None else None)


def padding_column(vocab_size: int) -> Tensor:
    """``(V,)`` booleans, True at the padding id 0: the one column never to answer."""
    column = torch.zeros(vocab_size, dtype=torch.bool)
    column[0] = True
    return column


def up_to_last_sentence(story: Tensor) -> Tensor:
    """``story (B, M, L)`` without the slots after the batch's last sentence ``(B, M', L)``
    (at least one slot)."""
    filled = (story != 0).any(-1).any(0)  # (M,)
    return story[:, : int(filled.nonzero().max()) + 1 if filled.any() else 1]


def sentences_then_question(model: nn.Module, story: Tensor, query: Tensor):
    """``story (B, M, L)`` and ``query (B, Lq)`` through the model's position-mask encoders:
    one vector per sentence, the question last -> ``(B, M + 1, d)`` and its real mask."""
    sentences = model.story_encoder(story)  # (B, M, d)
    question = model.query_encoder(query).unsqueeze(1)  # (B, 1, d)
    real = torch.cat([(story != 0).any(-1), torch.ones_like(question[..., 0]).bool()], 1)
    return torch.cat([sentences, question], 1), real
