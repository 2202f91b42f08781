"""distillation_loss: the Hinton et al. formula by hand, limits, and argument errors."""

import pytest
import torch

from amkit.knowledge.distill import distillation_loss


def test_matches_the_formula_written_out():
    torch.manual_seed(0)
    s, t = torch.randn(4, 3), torch.randn(4, 3)
    y = torch.tensor([0, 2, 1, 1])
    temp, alpha = 3.0, 0.7
    p_t, p_s = torch.softmax(t / temp, -1), torch.softmax(s / temp, -1)
    kl = (p_t * (p_t.log() - p_s.log())).sum(-1).mean()
    ce = -torch.log_softmax(s, -1)[torch.arange(4), y].mean()
    expected = alpha * temp**2 * kl + (1 - alpha) * ce
    assert torch.allclose(distillation_loss(s, t, temp, alpha, y), expected, atol=1e-6)


def test_limits_and_teacher_gets_no_gradient():
    s = torch.randn(5, 4, requires_grad=True)
    t = torch.randn(5, 4, requires_grad=True)
    y = torch.randint(0, 4, (5,))
    assert distillation_loss(t.detach(), t, 2.0, alpha=1.0) < 1e-6  # student == teacher
    hard = distillation_loss(s, t, 2.0, alpha=0.0, targets=y)
    assert torch.allclose(hard, torch.nn.functional.cross_entropy(s, y))
    distillation_loss(s, t, 2.0, alpha=0.5, targets=y).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 0.0}, "temperature must be > 0"),
        ({"alpha": 1.5}, r"alpha must be in \[0, 1\]"),
        ({"alpha": 0.5}, "pass targets="),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        distillation_loss(torch.randn(2, 3), torch.randn(2, 3), **kwargs)
    with pytest.raises(ValueError, match="must have the same shape"):
        distillation_loss(torch.randn(2, 3), torch.randn(2, 4), alpha=1.0)
