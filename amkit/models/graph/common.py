"""What the link-scoring models of a graph share: their output, the hidden-triples mask and
AUC-PR over the candidate answers.

Legend: B batch, E entities, N memory triples, K hops, S kept slots, H hidden triples per
row, C candidate answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from amkit.data.base import DataInfo, iterate_batches
from amkit.errors import UserError
from amkit.graph import TriplesGraph, auc_pr
from amkit.models.base import ModelOutput, not_attention
from amkit.models.graph.question import answer_set_loss, hits_at_1


@dataclass
class GraphReasonerOutput(ModelOutput):
    """Output of the graph reasoners and graph embeddings.

    Attributes:
        logits: ``(B, E)`` a score per entity as the answer (log-probabilities for the
            key-value memory).
        hop_weights: ``(B, K, S)`` each hop's attention over its kept slots (zero-padded to
            the widest hop); with ``need_weights``, for models that attend.
        hop_slots: ``(K, S)`` the memory triple id of each column of ``hop_weights`` (-1 =
            padding).
        question_weights: ``(B, K, T)`` each hop's attention over the question's words
            (models that read questions in words, with ``need_weights``).
    """

    hop_weights: Tensor | None = None
    hop_slots: Tensor | None = not_attention()
    question_weights: Tensor | None = None

    @classmethod
    def scored(
        cls, logits: Tensor, answers: Tensor | None, targets: Tensor | None,
        words: Tensor | None = None,
    ) -> GraphReasonerOutput:  # fmt: skip
        """The output for ``logits (B, E)``: the answer-set loss when ``answers (B, A)`` are
        given (questions with several answers), else cross-entropy on ``targets (B,)``, else
        none; ``words (B, K, T)`` the question attention (``None`` unless asked for)."""
        loss = None
        if answers is not None:
            loss = answer_set_loss(logits, answers)
        elif targets is not None:
            loss = F.cross_entropy(logits, targets)
        return cls(logits=logits, loss=loss, question_weights=words)


def exclude_topic(logits: Tensor, head: Tensor) -> Tensor:
    """``logits (B, E)`` with each row's topic entity ``head (B,)`` ruled out as its answer:
    the lowest finite score. MetaQA-style question sets never answer a question with its
    own entity (``amkit data kbqa-wordnet`` leaves it out of every answer set), and the
    EmbedKGQA and TransferNet evaluations drop it from the candidates the same way."""
    lowest = torch.finfo(logits.dtype).min
    return logits.scatter(1, head.unsqueeze(1), lowest)


def require_graph(info: DataInfo, model: str) -> TriplesGraph:
    """The data's graph, or an error saying which data a graph model reads."""
    if not isinstance(info.graph, TriplesGraph):
        raise UserError(
            f"model {model} reads a knowledge graph: use a graph dataset (data.name: countries "
            "or kbqa)"
        )
    return info.graph


def hidden_mask(hide: Tensor | None, n_base: int, n_memory: int, batch: int, device) -> Tensor:
    """``(B, N)`` True where a row hides a memory triple: the base triples ``hide`` ``(B, H)``
    names (-1 = padding) and their reciprocals (id + ``n_base``)."""
    mask = torch.zeros(batch, n_memory, dtype=torch.bool, device=device)
    if hide is None or hide.numel() == 0:
        return mask
    rows = torch.arange(batch, device=device).unsqueeze(1).expand_as(hide)
    real = hide >= 0
    for offset in (0, n_base):
        mask[rows[real], hide[real] + offset] = True
    return mask


class CandidateAUCPR:
    """The ``extra_metrics`` hook: AUC-PR (:func:`amkit.graph.auc_pr`) over every (query,
    candidate answer) pair of a split, a candidate's score being the model's probability of
    it (softmax of the logits over all entities), and ``candidate_accuracy``, how often the
    best-scored candidate is the answer; ``{}`` for a split whose answers are not
    all candidates (training rows of other relations). Needs ``self.answer_ids``. A split
    of questions with answer sets (``answers``, the ``kbqa`` data) is scored by hits@1 per
    hop count instead (:func:`amkit.models.graph.question.hits_at_1`)."""

    answer_ids: list[int]

    @torch.no_grad()
    def extra_metrics(self, dataset, batch_size: int) -> dict[str, float]:
        if "answers" in dataset.tensors:
            return hits_at_1(self, dataset, batch_size)
        if not self.answer_ids:
            return {}
        column = {entity: i for i, entity in enumerate(self.answer_ids)}
        targets = dataset.tensors["targets"].tolist()
        if any(t not in column for t in targets):
            return {}
        device = next(self.parameters()).device
        scores = []
        for batch in iterate_batches(dataset, batch_size):
            inputs = {k: v.to(device) for k, v in batch.items() if k != "targets"}
            logits = self(**inputs).logits.float()  # (B, E)
            scores.append(logits.softmax(-1)[:, self.answer_ids].cpu())  # (B, C)
        scores = torch.cat(scores)  # (N, C)
        truth = [column[t] for t in targets]
        hits = (scores.argmax(1) == torch.tensor(truth)).float().mean()
        return {"auc_pr": auc_pr(scores, truth), "candidate_accuracy": float(hits)}
