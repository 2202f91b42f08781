"""Training on unlabelled texts with pseudo-labels (self-training, Yarowsky 1995; Lee 2013).

With ``data.train_fraction < 1`` a text dataset's training part is split three ways: the
seeded validation split, the labelled subset a run trains on, and the rest, whose labels the
run never reads: the **unlabelled pool** (:func:`unlabelled_indices`). A teacher run made
with ``data.predict_unlabelled: true`` (an ``amkit baseline`` run, or ``amkit ensemble`` of
such runs) saves its class probabilities of every pool text in ``probabilities.safetensors``
(``unlabelled``: ``(N_pool, C)``; ``unlabelled_index``: ``(N_pool,)``, positions in the
training texts). A student run with ``data.pseudo_labels: TEACHER_RUN`` then trains on its
labelled subset plus the pool texts that the teacher labels with a probability of at least
``data.pseudo_threshold``, each with the teacher's label (:func:`load_pseudo_labels`).
Nothing of the validation or test texts is used: the teacher predicts them, but only its pool
predictions are read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from amkit.errors import UserError
from amkit.io import read_tensors

log = logging.getLogger("amkit")

# the keys of probabilities.safetensors that hold a run's predictions of the pool
POOL, POOL_INDEX = "unlabelled", "unlabelled_index"


def unlabelled_indices(n_texts: int, fit_idx: Sequence[int], val_idx: Sequence[int]) -> list[int]:
    """The training texts in neither the labelled subset nor validation, in file order."""
    used = set(fit_idx) | set(val_idx)
    return [i for i in range(n_texts) if i not in used]


@dataclass
class PseudoLabels:
    """The pool texts a teacher labels confidently: ``indices`` into the training texts and
    the teacher's class ids, ``labels``; ``pool_size`` texts were in the pool; ``teacher``
    (its run directory) kept those at probability >= ``threshold``."""

    indices: list[int]
    labels: list[int]
    pool_size: int
    teacher: str
    threshold: float

    def agreement(self, targets: Sequence[int]) -> float | None:
        """The share of pseudo-labels equal to the held-back gold labels ``targets`` (all
        training targets), a diagnostic: where the data has them, how right the teacher was."""
        if not self.indices:
            return None
        same = sum(targets[i] == label for i, label in zip(self.indices, self.labels, strict=True))
        return same / len(self.indices)

    def summary(self, targets: Sequence[int]) -> dict:
        """What ``metrics.json`` records about them (``targets``: as :meth:`agreement`)."""
        agreement = self.agreement(targets)
        return {
            "teacher": self.teacher,
            "threshold": self.threshold,
            "pool": self.pool_size,
            "kept": len(self.indices),
            "agreement_with_held_back_labels": None if agreement is None else round(agreement, 4),
        }


def pool_predictions(tensors: dict[str, torch.Tensor], pool_idx: Sequence[int],
                     probabilities) -> None:  # fmt: skip
    """Add a teacher's ``(N_pool, C)`` pool ``probabilities`` to the tensors it saves."""
    tensors[POOL] = torch.as_tensor(probabilities, dtype=torch.float32)
    tensors[POOL_INDEX] = torch.tensor(list(pool_idx), dtype=torch.long)


def load_pseudo_labels(
    run_dir: str | Path, pool_idx: Sequence[int], threshold: float
) -> PseudoLabels:
    """The pool texts that the teacher ``run_dir`` labels with probability >= ``threshold``,
    checked to be predictions of exactly this pool (same data, seed, validation split and
    ``train_fraction``) in this order."""
    path = Path(run_dir) / "probabilities.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"data.pseudo_labels: {path} does not exist")
    saved = read_tensors(path)
    if POOL not in saved or POOL_INDEX not in saved:
        raise UserError(
            f"data.pseudo_labels: {path} has no predictions of the unlabelled texts; make the "
            "teacher with --set data.predict_unlabelled=true (amkit baseline, or amkit ensemble "
            "of such runs)"
        )
    if saved[POOL_INDEX].tolist() != list(pool_idx):
        raise UserError(
            f"data.pseudo_labels: {path} predicts another unlabelled pool; give the teacher the "
            "same data, seed (or split_seed), val_fraction and train_fraction as this run"
        )
    probabilities = saved[POOL]
    if probabilities.ndim != 2 or len(probabilities) != len(pool_idx):
        raise UserError(f"data.pseudo_labels: {path}: {POOL} should be (N_pool, classes)")
    confidence, labels = probabilities.max(dim=1)
    keep = (confidence >= threshold).nonzero().flatten().tolist()
    log.info(
        "pseudo-labels from %s: %d of %d unlabelled texts at probability >= %.2f",
        run_dir, len(keep), len(pool_idx), threshold,
    )  # fmt: skip
    return PseudoLabels([pool_idx[i] for i in keep], [int(labels[i]) for i in keep],
                        len(pool_idx), str(run_dir), threshold)  # fmt: skip
