"""An embedding baseline for multi-hop question answering (EmbedKGQA, Saxena et al. 2020):
the question, read by an encoder, takes the place of a relation in a ComplEx score (Trouillon
et al. 2016; the same number as PyKEEN's ``ComplExInteraction``, written as one real matrix
product, ~1.5x faster than its complex einsum on a CPU)::

    score(e) = Re(< h_topic, q, conj(h_e) >)

over every entity ``e``; there are no hops and no attention over facts: the entity vectors
must hold the graph. They are trained on the graph at the same time: each training step
also asks ``kg_batch`` random triples of the graph, both ways, ``(s, r, ?)`` scored over every
entity (1-N scoring, reciprocal relations, as ComplEx baselines train), weighted by
``kg_weight``; the question loss does not move the entity vectors (``tune_entities``), as
EmbedKGQA keeps its ComplEx vectors frozen. Deviation from EmbedKGQA: their ComplEx vectors
are trained first and their question encoder is RoBERTa; here both are trained together
from scratch and the encoder is the BiGRU of
:class:`~amkit.models.graph.question.HopQuestionEncoder` (one hop). Questions in words only
(``data.name: kbqa``).

Legend: B batch, E entities, R relations (2R with reciprocals), D complex width, T words,
A answers per row, M graph triples per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.models.base import register_model
from amkit.models.graph.common import (
    CandidateAUCPR,
    GraphReasonerOutput,
    exclude_topic,
    require_graph,
)
from amkit.models.graph.question import HopQuestionEncoder, answer_set_loss


@dataclass
class EmbedKGQAConfig:
    """ComplEx width and the weight of the graph's own loss."""

    dim: int = option(100, ge=1)  # complex numbers per vector (2 reals each)
    d_word: int = option(128, ge=2)
    word_dropout: float = option(0.1, ge=0, lt=1)
    kg_weight: float = option(1.0, ge=0)  # 0: the vectors learn from the questions alone
    kg_batch: int = option(512, ge=1)  # graph triples asked per training step
    init_std: float = option(0.1, gt=0)
    # whether the question loss moves the entity vectors too; false (EmbedKGQA's frozen
    # ComplEx): they learn from the graph alone, else they memorise the training questions
    tune_entities: bool = False
    exclude_topic: bool = False  # the topic entity is never the answer (common.exclude_topic)


@register_model("embedkgqa", config=EmbedKGQAConfig)
class EmbedKGQA(CandidateAUCPR, nn.Module):
    """``forward(head (B,), tokens (B, T), answers (B, A) = None, targets = None,
    need_weights = False) -> GraphReasonerOutput`` with logits ``(B, E)``."""

    def __init__(self, config: EmbedKGQAConfig, data_info: DataInfo):
        super().__init__()
        if not data_info.vocab_size:
            raise UserError("embedkgqa answers questions in words: use data.name: kbqa")
        self.config = config
        graph = require_graph(data_info, "embedkgqa").with_inverses()
        self.graph, self.answer_ids = graph, []
        E, R, D = len(graph.entities), len(graph.relations), config.dim
        self.entities = nn.Parameter(torch.randn(E, D, 2) * config.init_std)  # (E, D, re/im)
        self.relations = nn.Parameter(torch.randn(R, D, 2) * config.init_std)
        self.question = HopQuestionEncoder(data_info.vocab_size, config.d_word, 1, 2 * D,
                                           config.word_dropout)  # fmt: skip

    def _scores(self, heads: Tensor, relations: Tensor, tails: Tensor) -> Tensor:
        """``(B, E)`` ComplEx scores ``Re(<h, r, conj(t)>)`` of every entity as the tail;
        heads and relations ``(B, D, 2)``, tails ``(E, D, 2)`` (real and imaginary parts).

        ``Re(<hr, conj(t)>) = Re(hr) . Re(t) + Im(hr) . Im(t)``: one ``(B, 2D) @ (2D, E)``
        with real and imaginary parts interleaved as the tails store them (no copy of the
        entity table)."""
        (h_re, h_im), (r_re, r_im) = heads.unbind(-1), relations.unbind(-1)  # (B, D) each
        hr = torch.stack([h_re * r_re - h_im * r_im, h_re * r_im + h_im * r_re], -1)  # (B, D, 2)
        return hr.flatten(1) @ tails.flatten(1).T  # (B, E)

    def forward(
        self,
        head: Tensor,
        tokens: Tensor,
        answers: Tensor | None = None,
        targets: Tensor | None = None,
        need_weights: bool = False,
    ) -> GraphReasonerOutput:
        B, D = len(head), self.config.dim
        query, words = self.question(tokens)  # (B, 1, 2D), (B, 1, T)
        entities = self.entities if self.config.tune_entities else self.entities.detach()
        logits = self._scores(entities[head], query.view(B, D, 2), entities)  # (B, E)
        if self.config.exclude_topic:
            logits = exclude_topic(logits, head)
        loss = None
        if answers is not None:
            loss = answer_set_loss(logits, answers)
        elif targets is not None:
            loss = F.cross_entropy(logits, targets)
        if loss is not None and self.training and self.config.kg_weight > 0:
            picked = torch.randint(len(self.graph), (self.config.kg_batch,), device=head.device)
            s, r, o = self.graph.triples.to(head.device)[picked].unbind(1)  # (M,) each
            kg = F.cross_entropy(
                self._scores(self.entities[s], self.relations[r], self.entities), o
            )
            loss = loss + self.config.kg_weight * kg
        out = GraphReasonerOutput(logits=logits, loss=loss)
        if need_weights:
            out.question_weights = words
        return out
