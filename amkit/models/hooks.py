"""The optional methods a task model may define, and what the trainer and the metrics do
with them: one :class:`typing.Protocol` per hook.

A model is an ``nn.Module`` whose ``forward(**batch)`` returns its family's
:class:`~amkit.models.base.ModelOutput`; that is all the trainer needs. A model that must
react to training (a phase that ends, a step to compile, a metric of its own, a ranking of
every item) defines the matching method below; the trainer checks for it with
``isinstance(model, EpochEndHook)`` and the like (the protocols are ``runtime_checkable``,
which checks that the method exists; a test checks every registered model's signatures).

Legend: B batch, L sequence positions, I items.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor

__all__ = ["HOOKS", "CompileStepsHook", "EpochEndHook", "ExtraMetricsHook", "ScoreItemsHook"]


@runtime_checkable
class EpochEndHook(Protocol):
    """A model that changes between epochs (MemN2N's and the Universal Transformer's linear
    start)."""

    def epoch_end(self, epoch: int, record: dict[str, Any]) -> dict[str, bool] | None:
        """Called by the trainer after each validation (every ``train.eval_every`` epochs,
        and the last one), once the best model so far is saved.

        Args:
            epoch: the epoch just finished, from 1.
            record: that epoch's metrics (``train_loss``, ``val_loss``, ``val_accuracy``,
                ...); the model may add keys, which go into ``metrics.jsonl`` (e.g.
                ``linear_start_ended``).

        Returns:
            ``None`` for a plain epoch; ``{"hold_schedule": True}`` to skip this epoch's
            learning-rate schedule step; ``{"restart_schedule": True}`` to reset the learning
            rate and its schedule and give early stopping its full patience again (a new
            phase). A model with this hook cannot be trained with ``train.ema_decay``.
        """
        ...


@runtime_checkable
class CompileStepsHook(Protocol):
    """A model with a recurrent per-step cell worth compiling (EntNet's memory update)."""

    def compile_steps(self) -> None:
        """Called once, when the trainer is built with ``train.compile: true``: compile the
        per-step cell in place (``torch.compile``); the outputs must not change. Without this
        hook ``train.compile`` is an error."""
        ...


@runtime_checkable
class ExtraMetricsHook(Protocol):
    """A model with metrics of its own (a translation model's BLEU)."""

    def extra_metrics(self, dataset: Any, batch_size: int) -> dict[str, float]:
        """Called in eval mode after the standard metrics of a split (validation every
        evaluated epoch, and the final val and test scores).

        Args:
            dataset: the split, a :class:`~amkit.data.base.TensorDictDataset` (iterate it
                unshuffled with :func:`~amkit.data.base.iterate_batches`).
            batch_size: the evaluation batch size.

        Returns:
            ``{name: value}`` added to the split's metrics (``val_`` / ``test_`` prefixed in
            the run's records); ``{}`` when the model cannot compute them.
        """
        ...


@runtime_checkable
class ScoreItemsHook(Protocol):
    """A recommender that can rank every item (full-ranking metrics, ``amkit recommend``)."""

    def score_items(self, seq: Tensor, user: Tensor | None = None) -> Tensor:
        """The score of every item id after the sequence.

        Args:
            seq: ``(B, L)`` item ids of each user's history, 0 = padding.
            user: ``(B,)`` user ids, for models that know users (BPR); others ignore it.

        Returns:
            ``(B, I + 1)`` scores, column ``i`` item id ``i`` (column 0, padding, is never
            ranked); its columns must equal what ``forward(seq, candidates=...)`` gives the
            same items, as the metrics score the sampled candidates from it.
        """
        ...


# hook method name -> its protocol (for contract tests and docs)
HOOKS: dict[str, type] = {
    "epoch_end": EpochEndHook,
    "compile_steps": CompileStepsHook,
    "extra_metrics": ExtraMetricsHook,
    "score_items": ScoreItemsHook,
}
"""Each optional hook method's name -> the Protocol it must satisfy (contract tests, docs)."""
