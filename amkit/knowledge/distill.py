"""Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
Network"): a student learns from a teacher's softened probabilities.

``loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)``

The ``T^2`` keeps the soft term's gradients on the scale of the hard term's when ``T``
changes (the paper's remark). Legend: B batch, C classes.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from amkit.errors import UserError


def distillation_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    temperature: float = 2.0,
    alpha: float = 0.5,
    targets: Tensor | None = None,
) -> Tensor:
    """Mean over the batch of the distillation objective.

    Args:
        student_logits: ``(B, C)``.
        teacher_logits: ``(B, C)`` logits, never probabilities (for an ensemble teacher
            pass the ``log`` of its averaged probabilities); no gradient flows to them.
        temperature: ``T > 0``.
        alpha: weight of the soft term in [0, 1]; ``alpha < 1`` needs ``targets``.
        targets: ``(B,)`` class ids for the hard term.
    """
    if temperature <= 0:
        raise UserError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"alpha must be in [0, 1], got {alpha}")
    if student_logits.shape != teacher_logits.shape:
        raise UserError(
            f"student {tuple(student_logits.shape)} and teacher {tuple(teacher_logits.shape)} "
            "logits must have the same shape (B, C)"
        )
    if alpha < 1.0 and targets is None:
        raise UserError(f"alpha={alpha} < 1 weighs a hard-label term: pass targets=")
    soft_student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    soft_teacher = F.log_softmax(teacher_logits.detach().float() / temperature, dim=-1)
    soft = F.kl_div(soft_student, soft_teacher, log_target=True, reduction="batchmean")
    loss = alpha * temperature**2 * soft
    if alpha < 1.0:
        loss = loss + (1.0 - alpha) * F.cross_entropy(student_logits.float(), targets)
    return loss
