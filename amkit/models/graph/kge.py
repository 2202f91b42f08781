"""Knowledge-graph embeddings as link-scoring baselines, from PyKEEN: ComplEx (Trouillon et
al. 2016) and DistMult (Yang et al. 2015), trained the way strong recent baselines train
them (Lacroix et al. 2018; Ruffinelli et al. 2020): 1-N scoring (every entity scored as the
tail, a softmax cross-entropy: PyKEEN's LCWA), reciprocal relations (each triple also asked
backwards, ``r_inv``: train with ``data.train_queries: all``) and an N3 penalty (PyKEEN's
``PowerSumRegularizer`` with ``p=3``, the mean over the vectors read of their summed
cubed magnitudes, weighted by ``n3_weight``).

Legend: B batch, E entities, D width.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.config import option
from amkit.data.base import DataInfo
from amkit.models.base import register_model
from amkit.models.graph.common import CandidateAUCPR, GraphReasonerOutput, require_graph


@dataclass
class KGEConfig:
    """Width and N3 weight; ComplEx's ``dim`` counts complex numbers (2 reals each)."""

    dim: int = option(100, ge=1)
    n3_weight: float = option(0.01, ge=0)
    # normal init of every vector with this std (Lacroix et al. 2018: 1e-3); PyKEEN's own
    # std 1 leaves random components that a small graph's few updates never outweigh
    init_std: float = option(1e-3, gt=0)


class _PyKEENScorer(CandidateAUCPR, nn.Module):
    """A PyKEEN model scoring every entity as the tail of ``(head, relation)``."""

    pykeen_name = ""

    def __init__(self, config: KGEConfig, data_info: DataInfo):
        super().__init__()
        try:
            import pykeen.models
            from pykeen.triples import CoreTriplesFactory
        except ImportError:
            raise ModuleNotFoundError(
                "graph embeddings need PyKEEN: pip install -e .[kg]"
            ) from None
        self.config = config
        graph = require_graph(data_info, self.registered_name).with_inverses()
        self.answer_ids = list(data_info.answer_ids or [])
        factory = CoreTriplesFactory.create(
            graph.triples, num_entities=len(graph.entities), num_relations=len(graph.relations)
        )
        extra = {"entity_constrainer": None} if self.pykeen_name == "DistMult" else {}
        init = functools.partial(nn.init.normal_, std=config.init_std)
        self.kge = getattr(pykeen.models, self.pykeen_name)(
            triples_factory=factory,
            embedding_dim=config.dim,
            regularizer="powersum",  # sum |x|^3: N3 (PyKEEN's "lp" is the norm itself)
            regularizer_kwargs={"p": 3.0, "weight": config.n3_weight},
            entity_initializer=init,
            relation_initializer=init,
            random_seed=torch.initial_seed() % 2**31,
            **extra,
        )

    def forward(
        self,
        head: Tensor,
        relation: Tensor,
        hide: Tensor | None = None,
        targets: Tensor | None = None,
        need_weights: bool = False,
    ) -> GraphReasonerOutput:
        logits = self.kge.score_t(torch.stack([head, relation], 1)).float()  # (B, E)
        penalty = self.kge.collect_regularization_term()  # N3 of the vectors just read
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets) + penalty.sum()
        return GraphReasonerOutput(logits=logits, loss=loss)


@register_model("complex", config=KGEConfig)
class ComplExScorer(_PyKEENScorer):
    """ComplEx (Trouillon et al. 2016) through PyKEEN, 1-N scoring with an N3 penalty."""

    pykeen_name = "ComplEx"


@register_model("distmult", config=KGEConfig)
class DistMultScorer(_PyKEENScorer):
    """DistMult (Yang et al. 2015) through PyKEEN, 1-N scoring with an N3 penalty."""

    pykeen_name = "DistMult"
