"""Knowledge-aware memory recommender: SASRec's sequence encoder, item knowledge fused into
item vectors, and a key-value user memory keyed by item attributes.

After KSR (Huang et al. 2018, "Improving Sequential Recommendation with Knowledge-Enhanced
Memory Networks"), RUM (Chen et al. 2018) and, for the joint KG objective, MKR (Wang et al.
2019). What amkit builds, stage by stage (each switchable for ablation):

1. **Item knowledge** (``attributes``, ``kg``): ``k_i = A a_i / |a_i| + E[entity_i]`` -- the
   mean embedding of the item's attributes (genres, decade) plus its KG entity vector --
   fused into the item embedding with the gate block: ``v_i = GatedFusion(e_i, k_i)``.
   ``kg: joint`` trains the entity vectors with a TransE loss on the KG triples next to the
   recommendation loss (``kg_weight``, multi-task as MKR); ``kg: pretrained`` trains TransE
   alone before the first training step (``kg_pretrain_epochs``) and freezes the entity
   vectors; ``kg: none`` leaves them out.
2. **Sequence**: SASRec's causal blocks over ``v`` -> ``h_t`` (short-term interest).
3. **Memory** (``memory``): one slot per attribute ``a`` with key ``K_a`` (the attribute
   embedding) and value ``m_{t,a}`` = the running mean of ``v`` over the items with that
   attribute seen up to ``t`` (written by the history, causal). A candidate ``c`` reads it
   with attention ``alpha_a = softmax_a(K_a . W_q v_c / sqrt(D))`` over non-empty slots:
   ``r = sum_a alpha_a m_{t,a}`` (long-term preference for what ``c`` is).
4. **Score**: ``u = GatedFusion(h_t, r)``, ``s(c) = u . v_c``; BCE with one sampled negative
   per position, as SASRec.

``need_weights=True`` with candidates returns (:class:`KnowledgeRecOutput`) ``memory``
``(B, C, A)`` (attention over the attribute slots for each candidate) and ``blocks``
``(B, N, H, L, L)`` (each sequence block's self-attention over the history; the last
position's row is what the user vector saw).

Legend: B batch, L positions, D width, A attributes, C candidates, I items, N triples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.knowledge.fusion import GatedFusion
from amkit.models.base import ModelOutput, register_model
from amkit.models.seqrec import (
    SASRec,
    SASRecConfig,
    bce_loss,
    margin_logits,
    sample_negatives,
)


@dataclass
class KnowledgeRecConfig:
    """Defaults: SASRec's ML-1M sizes plus all knowledge stages on."""

    d_model: int = option(50, ge=1)
    n_blocks: int = option(2, ge=1)
    n_heads: int = option(1, ge=1)
    dropout: float = option(0.2, ge=0, lt=1)
    attention_dropout: float | None = option(None, ge=0, lt=1)  # as SASRecConfig
    attributes: bool = True
    kg: Literal["none", "joint", "pretrained"] = "joint"
    memory: bool = True
    # 0: one memory slot per item attribute (needs item knowledge); N > 0: N latent slots
    # with learned keys, each item written to them softly (RUM's feature-level memory) --
    # for catalogues without attributes (e.g. Amazon Games)
    latent_slots: int = option(0, ge=0)
    kg_weight: float = option(0.1, ge=0)  # weight of the TransE loss (kg: joint)
    kg_batch: int = option(1024, ge=1)  # triples per training step (kg: joint)
    kg_margin: float = option(1.0, gt=0)
    kg_pretrain_epochs: int = option(50, ge=1)  # kg: pretrained


def transe_loss(entities: nn.Embedding, relations: nn.Embedding, triples: Tensor,
                margin: float, generator=None) -> Tensor:  # fmt: skip
    """TransE margin loss ``relu(margin + |h + r - t| - |h' + r - t'|)``, one corrupted
    head or tail per triple (``triples (N, 3)``, entity ids 1-based)."""
    h, r, t = triples.unbind(-1)
    corrupt = torch.randint(
        1, entities.num_embeddings, h.shape, generator=generator, device=triples.device
    )
    flip = torch.rand(h.shape, generator=generator, device=triples.device) < 0.5
    h2, t2 = torch.where(flip, corrupt, h), torch.where(flip, t, corrupt)

    def distance(head, tail):
        return (entities(head) + relations(r) - entities(tail)).norm(p=1, dim=-1)

    return F.relu(margin + distance(h, t) - distance(h2, t2)).mean()


@dataclass
class KnowledgeRecOutput(ModelOutput):
    """:class:`KnowledgeRec`'s output: candidate scores ``(B, C)`` when ranking, else the
    training margins ``(B, 2)``.

    Attributes:
        memory: ``(B, C, A)`` each candidate's attention over the memory slots (attributes
            or latent slots; empty slots 0); when ranking with ``need_weights`` and
            ``memory: true``.
        blocks: ``(B, N, H, L, L)`` each sequence block's causal self-attention; when
            ranking with ``need_weights``.
    """

    memory: Tensor | None = None
    blocks: Tensor | None = None


@register_model("knowledge_rec", config=KnowledgeRecConfig)
class KnowledgeRec(nn.Module):
    """``forward(seq, pos=None, candidates=None, targets=None, user=None)`` like SASRec."""

    def __init__(self, config: KnowledgeRecConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        knowledge = data_info.item_knowledge
        attribute_memory = config.memory and not config.latent_slots
        if knowledge is None and (config.attributes or config.kg != "none" or attribute_memory):
            raise UserError(
                "knowledge_rec needs item knowledge: set data.item_knowledge to a folder with "
                "movies.dat.gz and MKR's KG files (ml-1m: that folder under AMKIT_DATA); "
                "without it set "
                "model.attributes=false, model.kg=none and model.latent_slots=N (or memory off)"
            )
        d = config.d_model
        self.n_items = data_info.n_items
        self.sasrec = SASRec(
            SASRecConfig(
                d, config.n_blocks, config.n_heads, config.dropout, config.attention_dropout
            ),
            data_info,
        )
        self.items = self.sasrec.items  # e_i, shared with the scores
        if knowledge is not None:
            attributes = knowledge.attributes.float()
            self.register_buffer(
                "item_attributes", attributes / attributes.sum(-1, keepdim=True).clamp(min=1)
            )
            self.register_buffer("item_has", attributes > 0)  # (I + 1, A)
            self.register_buffer("item_entity", knowledge.entity.clone())
            self.register_buffer("triples", knowledge.triples.clone(), persistent=False)
            self.attribute_names = knowledge.attribute_names
            self.titles = knowledge.titles
            self.attribute_embeddings = nn.Parameter(torch.empty(attributes.shape[1], d))
            nn.init.xavier_normal_(self.attribute_embeddings)
            self.entities = nn.Embedding(knowledge.n_entities + 1, d, padding_idx=0)
            self.relations = nn.Embedding(max(knowledge.n_relations, 1), d)
            for table in (self.entities, self.relations):
                nn.init.xavier_normal_(table.weight)
            with torch.no_grad():
                self.entities.weight[0].zero_()
        if config.attributes or config.kg != "none":
            self.item_fusion = GatedFusion(d)
        if config.memory:
            self.query = nn.Linear(d, d, bias=False)
            self.read_fusion = GatedFusion(d)
            if config.latent_slots:
                self.slot_keys = nn.Parameter(torch.empty(config.latent_slots, d))
                nn.init.xavier_normal_(self.slot_keys)
        # kg: pretrained -- TransE runs before the first training step, not here: a loaded
        # run (evaluate, recommend, resume) already has its trained entity vectors
        self.register_buffer("entities_pretrained", torch.tensor(False))

    # ---------------------------------------------------------------- knowledge
    def pretrain_entities(self) -> None:
        """TransE on the KG alone (the run's seeded global RNG), then freeze the entities.
        Runs once: the done flag is a buffer, saved with the weights."""
        if bool(self.entities_pretrained):
            self.entities.weight.requires_grad_(False)
            self.relations.weight.requires_grad_(False)
            return
        generator = None
        params = [self.entities.weight, self.relations.weight]
        optimizer = torch.optim.Adam(params, lr=0.01)
        for _ in range(self.config.kg_pretrain_epochs):
            order = torch.randperm(len(self.triples), generator=generator)
            for start in range(0, len(order), self.config.kg_batch):
                batch = self.triples[order[start : start + self.config.kg_batch]]
                loss = transe_loss(self.entities, self.relations, batch,
                                   self.config.kg_margin, generator)  # fmt: skip
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        self.entities.weight.requires_grad_(False)
        self.relations.weight.requires_grad_(False)
        self.entities_pretrained.fill_(True)

    def item_vectors(self, items: Tensor) -> Tensor:
        """``v_i`` for item ids ``(...)`` -> ``(..., D)``."""
        e = self.items(items)
        if not hasattr(self, "item_fusion"):
            return e
        k = torch.zeros_like(e)
        if self.config.attributes:
            k = k + self.item_attributes[items] @ self.attribute_embeddings
        if self.config.kg != "none":
            k = k + self.entities(self.item_entity[items])
        fused, _ = self.item_fusion(e, k)
        return fused * (items != 0).unsqueeze(-1)

    # ---------------------------------------------------------------- memory
    def memory_keys(self) -> Tensor:
        """``(A, D)``: attribute embeddings, or the latent slots' keys."""
        return self.slot_keys if self.config.latent_slots else self.attribute_embeddings

    def slot_membership(self, seq: Tensor, v: Tensor) -> Tensor:
        """``(B, L, A)``: how much each item goes into each slot. Attribute slots take the
        items that have the attribute (0/1); latent slots take every item with the weight
        ``softmax_a(K_a . v / sqrt(D))``."""
        if self.config.latent_slots:
            assign = torch.softmax(v @ self.slot_keys.T / self.config.d_model**0.5, dim=-1)
            return assign * (seq != 0).unsqueeze(-1)
        return self.item_has[seq].float()

    def memory_values(self, seq: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Causal running means per slot: ``(B, L, A, D)`` values, ``(B, L, A)`` filled (the
        memory as written; training reads it through :meth:`read_causal` without building
        this tensor)."""
        has = self.slot_membership(seq, v)  # (B, L, A)
        sums = torch.cumsum(has.unsqueeze(-1) * v.unsqueeze(2), dim=1)  # (B, L, A, D)
        counts = torch.cumsum(has, dim=1)  # (B, L, A)
        return sums / counts.clamp(min=1).unsqueeze(-1), counts > 0

    def last_memory(self, seq: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """The memory after the last position: ``(B, A, D)`` means, ``(B, A)`` filled."""
        has = self.slot_membership(seq, v)  # (B, L, A)
        counts = has.sum(1)  # (B, A)
        means = (has.mT @ v) / counts.clamp(min=1).unsqueeze(-1)  # (B, A, D)
        return means, counts > 0

    def read_causal(self, has: Tensor, v: Tensor, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """What :meth:`read` returns for each position's memory (:meth:`memory_values`), with
        matrix products: position ``t`` reads ``sum_a w_ta mean_a(t) = sum_{s <= t} alpha_ts
        v_s`` with ``alpha_ts = sum_a (w_ta / count_ta) has_sa``. ``has (B, L, A)``, ``v`` and
        ``candidates (B, L, D)`` -> the read ``(B, L, D)`` and the weights ``(B, L, A)``."""
        counts = torch.cumsum(has, dim=1)  # (B, L, A)
        q = self.query(candidates)  # (B, L, D)
        scores = q @ self.memory_keys().T / self.config.d_model**0.5  # (B, L, A)
        weights = masked_softmax(scores, counts > 0)  # (B, L, A)
        alpha = (weights / counts.clamp(min=1)) @ has.mT  # (B, L, L): [t, s]
        causal = torch.ones(alpha.shape[-2:], dtype=torch.bool, device=alpha.device).tril()
        return (alpha * causal) @ v, weights

    def read(self, values: Tensor, filled: Tensor, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """Each candidate reads one memory: ``values (B, A, D)``, ``filled (B, A)``,
        ``candidates (B, C, D)`` -> the read ``(B, C, D)`` and the weights ``(B, C, A)``
        (empty slots get 0). Training reads every position's memory through
        :meth:`read_causal` instead."""
        q = self.query(candidates)  # (B, C, D)
        scores = q @ self.memory_keys().T / self.config.d_model**0.5  # (B, C, A)
        weights = masked_softmax(scores, filled.unsqueeze(1))
        return weights @ values, weights  # (B, C, D)

    def user_vectors(self, h: Tensor, read: Tensor | None) -> Tensor:
        """``h (..., D)`` fused with the memory read for each candidate ``(..., D)`` -> ``u``;
        without memory (``read`` None) ``u`` is ``h``."""
        if read is None:
            return h
        u, _ = self.read_fusion(h.expand_as(read), read)
        return u

    # ---------------------------------------------------------------- scores
    def _last_state(self, seq: Tensor):
        v = self.item_vectors(seq)  # (B, L, D)
        h = self.sasrec.encode_vectors(v, seq != 0)[:, -1]  # (B, D)
        values = filled = None
        if self.config.memory:
            values, filled = self.last_memory(seq, v)  # (B, A, D), (B, A)
        return h, values, filled

    def _score_state(self, state, cand: Tensor) -> tuple[Tensor, Tensor | None]:
        """Scores ``(B, C)`` of candidate vectors ``cand (B, C, D)`` given ``_last_state``'s
        output, and the memory weights ``(B, C, A)`` (``None`` without memory)."""
        h, values, filled = state
        read = weights = None
        if self.config.memory:
            read, weights = self.read(values, filled, cand)  # (B, C, D), (B, C, A)
        return (self.user_vectors(h.unsqueeze(1), read) * cand).sum(-1), weights

    def score_candidates(self, seq: Tensor, candidates: Tensor) -> tuple[Tensor, Tensor | None]:
        """``(B, C)`` scores and memory weights ``(B, C, A)`` (``None`` without memory)."""
        return self._score_state(self._last_state(seq), self.item_vectors(candidates))

    def _score_shared(self, state, items: Tensor) -> Tensor:
        """What :meth:`_score_state` gives for the same candidates ``items (C, D)`` in every
        row, ``(B, C)``, with each item's work done once: its query and its memory scores
        ``(C, A)``; and the read's gate term ``W_r read = weights @ (values W_r^T)`` through
        the slots (``A`` values per row, not ``C`` reads)."""
        h, values, filled = state  # (B, D), (B, A, D), (B, A)
        if not self.config.memory:
            return h @ items.T
        q = self.query(items)  # (C, D)
        scores = q @ self.memory_keys().T / self.config.d_model**0.5  # (C, A)
        weights = masked_softmax(scores.expand(len(h), -1, -1), filled.unsqueeze(1))  # (B, C, A)
        read = weights @ values  # (B, C, D)
        w_h, w_r, bias = self.read_fusion.gate_parts()
        gate = torch.sigmoid((h @ w_h.T + bias).unsqueeze(1) + weights @ (values @ w_r.T))
        u = gate * h.unsqueeze(1) + (1 - gate) * read  # (B, C, D): user_vectors(h, read)
        return (u * items).sum(-1)

    def score_items(self, seq: Tensor, user: Tensor | None = None, chunk: int = 512) -> Tensor:
        """``(B, I + 1)`` every item's score (full ranking): the sequence is encoded and every
        item's vector fused once; the items are scored in chunks (:meth:`_score_shared`)."""
        state = self._last_state(seq)
        table = self.item_vectors(torch.arange(self.n_items + 1, device=seq.device))  # (I+1, D)
        parts = [
            self._score_shared(state, table[s : s + chunk]) for s in range(0, len(table), chunk)
        ]
        return torch.cat(parts, dim=1)

    def forward(self, seq, pos=None, candidates=None, targets=None, user=None,
                need_weights=False) -> KnowledgeRecOutput:  # fmt: skip
        if candidates is not None:
            logits, weights = self.score_candidates(seq, candidates)
            loss = F.cross_entropy(logits, targets) if targets is not None else None
            if not need_weights:
                return KnowledgeRecOutput(logits, loss)
            _, blocks = self.sasrec.encode_with_weights(self.item_vectors(seq), seq != 0)
            return KnowledgeRecOutput(logits, loss, memory=weights, blocks=torch.stack(blocks, 1))
        if pos is None:
            raise UserError("give pos (B, L) for training or candidates (B, C) for ranking")
        if self.training and self.config.kg == "pretrained":
            self.pretrain_entities()  # once: before the first training step
        real = pos != 0
        neg = sample_negatives(self.n_items, seq, pos)
        # every item's vector once per step (I + 1 rows), then looked up: far fewer rows
        # than fusing the B x L inputs, positives and negatives one by one
        table = self.item_vectors(torch.arange(self.n_items + 1, device=seq.device))
        v = table[seq]  # (B, L, D)
        h = self.sasrec.encode_vectors(v, seq != 0)  # (B, L, D)
        has = self.slot_membership(seq, v) if self.config.memory else None  # (B, L, A)
        scores = []
        for items in (pos, neg):
            cand = table[items]  # (B, L, D)
            read = self.read_causal(has, v, cand)[0] if self.config.memory else None
            scores.append((self.user_vectors(h, read) * cand).sum(-1))  # (B, L)
        loss = bce_loss(scores[0], scores[1], real)
        if self.config.kg == "joint" and self.config.kg_weight > 0 and len(self.triples):
            picked = torch.randint(
                0, len(self.triples), (self.config.kg_batch,), device=self.triples.device
            )
            loss = loss + self.config.kg_weight * transe_loss(
                self.entities, self.relations, self.triples[picked], self.config.kg_margin
            )
        return KnowledgeRecOutput(logits=margin_logits(scores[0], scores[1], real), loss=loss)
