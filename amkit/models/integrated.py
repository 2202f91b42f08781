"""The integrated model: encoder -> knowledge -> attention -> memory -> head, each stage
chosen by config and each one switchable off for ablation.

One model serves text classification and question answering; the batch decides:

- ``tokens (B, T)`` (the ``text`` / ``imdb`` datasets): the text is one sequence; the memory
  is its token states, read with the pooled text as the query; the head predicts a class.
- ``story (B, M, L)`` + ``query (B, Lq)`` (``babi``, ``generated_babi``): every sentence is
  encoded on its own, the memory holds one slot per sentence (plus a learned embedding of the
  slot's position, as MemN2N's temporal encoding), the question is the query; the head
  predicts the answer word.

Stages (config keys):

1. ``encoder``: ``bow`` (word embeddings weighted by MemN2N's position encoding), ``bigru``
   or ``cnn`` (``amkit.models.text_classifier``'s encoders), projected to ``d_model``.
2. ``knowledge``: ``none``; ``kb`` -- each word naming an entity of a triples file
   (``knowledge_path``, :class:`~amkit.knowledge.base.KnowledgeBase`) attends over its facts
   (relation + other entity embeddings) plus a "no knowledge" sentinel and adds what it read
   (:class:`~amkit.knowledge.fusion.KnowledgeAttention`, after KBLSTM); ``lexicon``,
   ``glove`` or ``wordnet`` -- per-word features fused with the embedding by ``fusion``
   (concat or gate), as in the text classifier.
3. ``attention``: ``additive`` pools a sequence's states with additive attention
   (``AttentionPooling``); ``none`` takes their mean.
4. ``memory``: ``context`` -- ``hops`` rounds of key-value memory reading
   (:class:`~amkit.memory.kv.KeyValueMemory`: address keys with the query, read values,
   ``q <- R_j (q + o)``); ``store`` -- ``hops`` reads of an external
   :class:`~amkit.memory.store.MemoryStore` (``store_path``; exact or FAISS): the store picks
   the ``store_k`` entries whose keys best match the query (as is when the store's key width
   is ``d_model``, else through a fixed random projection), the model attends over their
   learned projections of the values and adds what it read, ``q <- q + o`` (the top-k choice
   has no gradient; the attention over what was read has); ``graph`` -- ``context`` over
   the slots and, beside them, a graph memory: the nodes within ``graph_layers`` edges of
   the entities the words name in a triples file (``graph_path``), each node's state from an
   R-GCN (:class:`~amkit.graph.rgcn.GraphMemory`, PyTorch Geometric's ``RGCNConv``), as keys
   and values; ``none`` -- no reading: the query plus the mean of the memory.
   ``memory_fusion`` says how a read ``o`` joins the query ``q`` (each hop, in place of the
   ``+`` above): ``add`` ``q + o``; ``concat`` ``W [q; o] + b`` and ``gate``
   ``g * q + (1 - g) * o`` with ``g = sigmoid(W [q; o] + b)`` (``amkit.knowledge.fusion``'s
   blocks, one per hop); ``parallel`` -- the hops run as ``add`` and the head reads the
   query before the memory beside their result, ``[q; m]``. For story QA, MemN2N's
   ``linear_start`` and ``random_noise`` (Sukhbaatar et al. 2015) can be switched on.
5. head: a linear map to the classes (answer words for QA).

``need_weights=True`` returns every stage's weights in an :class:`IntegratedOutput`:
``tokens`` ``(B, T)`` or ``words`` ``(B, M, L)`` and ``query_words`` ``(B, Lq)`` (attention
pooling), ``knowledge`` ``(B, T, E + 1)`` or ``(B, M, L, E + 1)`` (last column: the
sentinel), ``gate`` (gated fusion), ``memory`` ``(B, K, T)`` or ``(B, K, M)`` (one row per
hop), or ``store`` and ``store_ids`` ``(B, K, k)`` (the external store's reads), ``graph``
``(B, K, N)`` and ``graph_nodes`` ``(B, N)`` (the graph memory's nodes), and
``memory_gate`` ``(B, K)`` (``memory_fusion: gate``).

Legend: B batch, T tokens, M memory slots (sentences), L words per sentence, Lq question
words, E facts per word, K hops, D ``d_model``, C classes, N graph nodes of a row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.knowledge.distill import distillation_loss
from amkit.knowledge.fusion import ConcatFusion, GatedFusion
from amkit.memory.kv import KeyValueMemory
from amkit.memory.memn2n import ages_from_newest
from amkit.models.base import ModelOutput, not_attention, register_model
from amkit.models.integrated_encoder import SequenceEncoder, TokenKnowledge
from amkit.models.qa.common import linear_start_epoch_end, register_linear_start

log = logging.getLogger("amkit")


@dataclass
class IntegratedConfig:
    """The integrated model's options: encoder, width, knowledge source and fusion, memory
    and hops (each field's comment says what it changes)."""

    encoder: Literal["bow", "bigru", "cnn"] = "bow"
    d_model: int = option(64, ge=2)
    knowledge: Literal["none", "kb", "lexicon", "glove", "wordnet"] = "none"
    knowledge_path: str | None = None  # kb: triples file (TSV/CSV/JSONL); glove: vectors file
    fusion: Literal["concat", "gate"] = "gate"  # lexicon / glove / wordnet
    lexicons: list[str] = field(default_factory=lambda: ["vader", "afinn"])
    max_facts: int = option(6, ge=1)  # facts (or WordNet concepts) per word
    attention: Literal["additive", "none"] = "additive"
    memory: Literal["context", "store", "graph", "none"] = "context"
    # how a memory read o joins the query q: add (q + o, MemN2N and KV-MemNN), concat, gate
    # (the knowledge fusion blocks, one per hop) or parallel (the head reads [q; memory's q])
    memory_fusion: Literal["add", "concat", "gate", "parallel"] = "add"
    hops: int = option(3, ge=1)
    # memory: context or graph -- every hop after the first addresses the keys through its
    # own map (MemN2N's per-hop memory embeddings) instead of one shared map
    hop_keys: bool = False
    # MemN2N's recipe for story QA, off by default: linear start (no softmax in the memory
    # hops until val loss stops falling for ls_patience epochs, at most ls_max_epochs) and
    # random noise (in training a blank memory follows a sentence with this probability)
    linear_start: bool = False
    ls_max_epochs: int = option(30, ge=1)
    ls_patience: int = option(3, ge=1)
    random_noise: float = option(0.0, ge=0, lt=1)
    store_path: str | None = None  # memory: store -- a saved MemoryStore directory
    store_k: int = option(8, ge=1)  # entries read from the store per hop
    graph_path: str | None = None  # memory: graph -- a triples file (TSV/CSV/JSONL)
    graph_layers: int = option(2, ge=1)  # memory: graph -- R-GCN layers, edges from the words
    cnn_widths: list[int] = field(default_factory=lambda: [3, 5])
    dropout: float = option(0.1, ge=0, lt=1)

    def validate(self) -> list[str]:
        problems = []
        if self.knowledge == "kb" and not self.knowledge_path:
            problems.append("knowledge: kb needs knowledge_path, a triples file (TSV/CSV/JSONL)")
        if self.memory == "store" and not self.store_path:
            problems.append("memory: store needs store_path, a MemoryStore saved with .save()")
        if self.memory == "graph" and not self.graph_path:
            problems.append("memory: graph needs graph_path, a triples file (TSV/CSV/JSONL)")
        if self.encoder == "bigru" and self.d_model % 2:
            problems.append(f"d_model ({self.d_model}) must be even for the bigru encoder")
        if self.memory_fusion not in MEMORY_FUSIONS:
            problems.append(
                f"memory_fusion: {self.memory_fusion!r} is not allowed; choose one of "
                f"{', '.join(MEMORY_FUSIONS)}"
            )
        if self.linear_start and self.memory not in ("context", "graph"):
            problems.append(
                "linear_start needs memory: context or graph (the hops' softmax), not "
                f"{self.memory!r}"
            )
        return problems


MEMORY_FUSIONS = ("add", "concat", "gate", "parallel")


@dataclass
class IntegratedOutput(ModelOutput):
    """:class:`IntegratedModel`'s output; the weights of the stages that are on come with
    ``need_weights``. Text (``tokens`` input) or story (``story`` + ``query``) shapes:

    Attributes:
        tokens: ``(B, T)`` the attention pooling over the text's tokens (text).
        words: ``(B, M, L)`` each sentence's attention pooling over its words (story).
        query_words: ``(B, Lq)`` the question's attention pooling over its words (story).
        knowledge: ``(B, T, E + 1)`` or ``(B, M, L, E + 1)`` each word's attention over its
            facts, the last column the "no knowledge" sentinel (``knowledge: kb``).
        gate: ``(B, T)`` or ``(B, M, L)`` the mean fusion gate (``fusion: gate``).
        memory: ``(B, K, T)`` or ``(B, K, M)`` each hop's attention over the memory
            (``memory: context``).
        store: ``(B, K, k)`` each hop's attention over the ``k`` entries read from the
            external store (``memory: store``).
        store_ids: ``(B, K, k)`` the ids of those entries, -1 where fewer were found (not
            attention weights).
        graph: ``(B, K, N)`` each hop's attention over the graph memory's nodes (``memory:
            graph``); a hop's row of ``memory`` and of ``graph`` sum to 1 together.
        graph_nodes: ``(B, N)`` the entity id of each of those nodes, -1 = padding (not
            attention weights).
        memory_gate: ``(B, K)`` each hop's mean gate of ``memory_fusion: gate``: 1 keeps the
            query, 0 takes what the memory read.
    """

    tokens: Tensor | None = None
    words: Tensor | None = None
    query_words: Tensor | None = None
    knowledge: Tensor | None = None
    gate: Tensor | None = None
    memory: Tensor | None = None
    store: Tensor | None = None
    store_ids: Tensor | None = not_attention()
    graph: Tensor | None = None
    graph_nodes: Tensor | None = not_attention()
    memory_gate: Tensor | None = None


@register_model("integrated", config=IntegratedConfig)
class IntegratedModel(nn.Module):
    """``forward(tokens=None, story=None, query=None, targets=None, need_weights=False)``."""

    def __init__(self, config: IntegratedConfig, data_info: DataInfo):
        super().__init__()
        problems = config.validate()
        if problems:
            raise UserError("model: " + "; ".join(problems))
        self.config = config
        vocab = data_info.vocab
        vocab_size = data_info.vocab_size or len(vocab)
        d = config.d_model
        self.qa = data_info.task == "story_qa"
        embed = nn.Embedding(vocab_size, d, padding_idx=0)
        knowledge = None
        if config.knowledge != "none":
            if vocab is None:
                raise UserError("knowledge needs the data's vocabulary (DataInfo.vocab)")
            knowledge = TokenKnowledge(config, list(vocab), d)
        self.encoder = SequenceEncoder(config, embed, knowledge)
        if self.qa:  # a sentence's age in the story (MemN2N's temporal encoding)
            self.slot_keys = nn.Parameter(torch.randn(data_info.memory_size, d) * 0.1)
            self.slot_values = nn.Parameter(torch.randn(data_info.memory_size, d) * 0.1)
        self.memory = (
            KeyValueMemory(d, hops=config.hops, share_proj=False, hop_keys=config.hop_keys)
            if config.memory in ("context", "graph")
            else None
        )
        self.graph_memory = None
        if config.memory == "graph":
            if vocab is None:
                raise UserError("memory: graph needs the data's vocabulary (DataInfo.vocab)")
            self._build_graph_memory(list(vocab))
        self.store = None
        if config.memory == "store":
            from amkit.memory.store import MemoryStore

            self.store = MemoryStore.load(config.store_path)  # not a parameter: read-only
            # the query in the store's key space: itself when the widths match, else a fixed
            # random projection (it keeps inner products approximately; top-k has no gradient)
            projection = (
                torch.eye(d)
                if self.store.dim == d
                else torch.randn(d, self.store.dim) / self.store.dim**0.5
            )
            self.register_buffer("store_query", projection)
            self.store_value = nn.Linear(self.store.value_dim, d)
        self.fuse = None  # memory_fusion concat / gate: one block per hop (add: q + o)
        if config.memory_fusion in ("concat", "gate"):
            block = ConcatFusion if config.memory_fusion == "concat" else GatedFusion
            n_reads = 1 if config.memory == "none" else config.hops
            self.fuse = nn.ModuleList(block(d, d) for _ in range(n_reads))
        self.dropout = nn.Dropout(config.dropout)
        width = 2 * d if config.memory_fusion == "parallel" else d  # parallel: [q; m]
        self.head = nn.Linear(width, data_info.n_classes)
        if config.linear_start:
            # only then the model changes between epochs: the trainer's hook, and its state
            # in buffers, exist only with linear start (train.ema_decay stays usable without)
            register_linear_start(self, True)
            self.epoch_end = self._linear_start_epoch_end

    @property
    def knowledge_info(self) -> dict[str, float]:
        knowledge = self.encoder.knowledge
        return {} if knowledge is None else {"vocab_coverage": round(knowledge.coverage, 4)}

    def _encode_story(
        self, story: Tensor, need_weights: bool
    ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """``story (B, M, L)`` -> ``(slots (B, M, D), slot_mask (B, M), weights)``; only the
        real sentences are encoded."""
        b, m, length = story.shape
        flat = story.reshape(b * m, length)
        slot_mask = (story != 0).any(-1)  # (B, M)
        real = slot_mask.flatten().nonzero().squeeze(1)
        _, pooled, word_weights, extra = self.encoder(flat[real], need_weights)
        slots = pooled.new_zeros(b * m, pooled.shape[-1]).index_copy(0, real, pooled)
        weights = {}
        if need_weights:
            for name, value in {"words": word_weights, **extra}.items():
                if value is not None:
                    full = value.new_zeros(b * m, *value.shape[1:]).index_copy(0, real, value)
                    weights[name] = full.view(b, m, *value.shape[1:])
        return slots.view(b, m, -1), slot_mask, weights

    def _build_graph_memory(self, vocab: list[str]) -> None:
        from amkit.graph.rgcn import GraphMemory
        from amkit.graph.triples import TriplesGraph
        from amkit.knowledge.base import KnowledgeBase
        from amkit.knowledge.tables import word_entities

        config = self.config
        kb = KnowledgeBase.from_file(config.graph_path)
        triples = ((f.head, f.relation, f.tail) for f in kb.facts_)
        graph = TriplesGraph.from_labeled(triples, entities=kb.entities)  # kb's entity ids
        self.graph_memory = GraphMemory(
            graph, config.d_model, config.graph_layers, dropout=config.dropout
        )
        self.register_buffer("word_entity", word_entities(vocab, kb))  # (V,), -1 = none
        found = 100 * float((self.word_entity >= 0).float().mean())
        log.info("graph memory: %d entities, %.1f %% of the vocabulary", len(kb.entities), found)

    def _linear_start_epoch_end(self, epoch: int, record: dict) -> dict | None:
        """Trainer hook (with ``linear_start``): put the softmax back in the memory hops when
        validation loss stops falling (:func:`linear_start_epoch_end`)."""
        return linear_start_epoch_end(
            self, epoch, record, self.config.ls_patience, self.config.ls_max_epochs,
            "softmax back in the memory hops",
        )  # fmt: skip

    def _ages(self, mask: Tensor) -> Tensor:
        """``(B, M)`` each slot's age, 0 = newest; in training with ``random_noise`` a blank
        follows each sentence with that probability (MemN2N's RN), which shifts the ages."""
        steps = mask.long()  # (B, M)
        if self.training and self.config.random_noise > 0:
            blanks = torch.rand(mask.shape, device=mask.device) < self.config.random_noise
            steps = steps + (blanks & mask).long()
        return ages_from_newest(steps).clamp(0, self.slot_keys.shape[0] - 1)

    def _join(self, hop: int, q: Tensor, o: Tensor, gates: list[Tensor] | None) -> Tensor:
        """Read ``o (B, D)`` joined to the query ``q (B, D)`` by ``memory_fusion`` ->
        ``(B, D)``; a gated hop appends its mean gate ``(B,)`` to ``gates``."""
        if self.fuse is None:
            return q + o
        joined, gate = self.fuse[hop](q, o, need_weights=gates is not None)
        if gate is not None:
            gates.append(gate.mean(-1))  # (B,)
        return joined

    def _read_store(
        self,
        q: Tensor,
        attention: dict[str, Tensor],
        need_weights: bool,
        gates: list[Tensor] | None,
    ) -> Tensor:
        """``hops`` reads of the external store: ``q (B, D)`` -> ``q + o`` (or
        ``memory_fusion``'s join) each hop."""
        hop_weights, hop_ids = [], []
        for hop in range(self.config.hops):
            read = self.store.read((q @ self.store_query).detach().float(), self.config.store_k)
            values = self.store_value(read.values.to(q.dtype))  # (B, k, D)
            weights = masked_softmax(torch.einsum("bkd,bd->bk", values, q), read.ids >= 0)
            q = self._join(hop, q, torch.einsum("bk,bkd->bd", weights, values), gates)
            hop_weights.append(weights)
            hop_ids.append(read.ids)
        if need_weights:
            attention["store"] = torch.stack(hop_weights, dim=1)  # (B, K, k)
            attention["store_ids"] = torch.stack(hop_ids, dim=1)  # (B, K, k)
        return q

    def forward(
        self,
        tokens: Tensor | None = None,
        story: Tensor | None = None,
        query: Tensor | None = None,
        targets: Tensor | None = None,
        teacher_logits: Tensor | None = None,
        need_weights: bool = False,
    ) -> IntegratedOutput:
        """``tokens (B, T)`` or ``story (B, M, L)`` + ``query (B, Lq)`` ids (0 = padding);
        ``targets (B,)``; ``teacher_logits (B, C)`` switch the training loss to distillation
        (``amkit.knowledge.distill``, alpha 0.5, temperature 2)."""
        # the stages' weights by IntegratedOutput field, when asked
        attention: dict[str, Tensor] = {}
        if story is not None and query is not None:
            keys, mask, attention = self._encode_story(story, need_weights)  # (B, M, D)
            ages = self._ages(mask)  # (B, M), 0 = newest
            values = keys + self.slot_values[ages]  # (B, M, D)
            keys = keys + self.slot_keys[ages]
            _, q, query_weights, _ = self.encoder(query, need_weights)  # (B, D)
            if query_weights is not None:
                attention["query_words"] = query_weights
        elif tokens is not None:
            length = int((tokens != 0).sum(1).max().clamp(min=1))
            keys, q, token_weights, extra = self.encoder(tokens[:, :length], need_weights)
            values, mask = keys, tokens[:, :length] != 0  # memory = the text's token states
            pad = tokens.shape[1] - length
            if need_weights:
                attention["tokens"] = F.pad(token_weights, (0, pad))
                for name, value in extra.items():  # (B, T', ...) -> (B, T, ...)
                    attention[name] = F.pad(value, (0, 0) * (value.dim() - 2) + (0, pad))
        else:
            raise UserError("give tokens (B, T) for classification or story + query for QA")
        q_before = q  # (B, D) before the memory: what the parallel head reads beside it
        n_slots = keys.shape[1]
        if self.graph_memory is not None:  # the graph's nodes join the slots
            words = tokens if story is None else torch.cat([story.flatten(1), query], 1)
            nodes, node_ids, node_mask = self.graph_memory(self.word_entity[words])  # (B, N, D)
            keys, values = torch.cat([keys, nodes], 1), torch.cat([values, nodes], 1)
            mask = torch.cat([mask, node_mask], 1)  # (B, M + N)
            if need_weights:
                attention["graph_nodes"] = node_ids
        gated = need_weights and self.config.memory_fusion == "gate"
        gates: list[Tensor] | None = [] if gated else None
        if self.store is not None:
            q = self._read_store(q, attention, need_weights, gates)
        elif self.memory is not None:
            q, hop_weights = self.memory(
                q, keys, values, mask, need_weights=need_weights,
                combine=None if self.fuse is None else partial(self._join, gates=gates),
                linear=bool(getattr(self, "linear_phase", False)),
            )  # fmt: skip
            if hop_weights is not None:
                if self.graph_memory is not None:
                    attention["graph"] = hop_weights[..., n_slots:]  # (B, K, N)
                    hop_weights = hop_weights[..., :n_slots]
                if tokens is not None:
                    hop_weights = F.pad(hop_weights, (0, tokens.shape[1] - hop_weights.shape[-1]))
                attention["memory"] = hop_weights  # (B, K, M) or (B, K, T)
        else:
            share = mask.float() / mask.sum(1, keepdim=True).clamp(min=1)  # (B, M)
            q = self._join(0, q, torch.einsum("bm,bmd->bd", share, values), gates)
        if gates:
            attention["memory_gate"] = torch.stack(gates, dim=1)  # (B, K)
        if self.config.memory_fusion == "parallel":
            q = torch.cat([q_before, q], dim=-1)  # (B, 2D)
        logits = self.head(self.dropout(q))  # (B, C)
        loss = None
        if targets is not None:
            if teacher_logits is not None and self.training:
                loss = distillation_loss(logits, teacher_logits, 2.0, 0.5, targets)
            else:
                loss = F.cross_entropy(logits, targets)
        return IntegratedOutput(logits=logits, loss=loss, **attention)


__all__ = ["IntegratedConfig", "IntegratedModel", "IntegratedOutput"]
