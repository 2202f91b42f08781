"""Attention-based translation: RNN encoder-decoder (Bahdanau or Luong attention) and a
pre-norm Transformer, both on ``amkit.attention``.

- ``arch: rnn`` -- a bidirectional GRU/LSTM encoder; its states, projected to the decoder
  width, are the keys and values of the decoder's attention.
  ``attention: bahdanau`` (Bahdanau et al. 2015): the previous decoder state attends
  (additive score), the context enters the recurrent cell with the previous word, and the
  output layer sees state, context and word. ``attention: dot | general | concat`` (Luong et
  al. 2015): the new decoder state attends with that score (``concat`` is the additive
  score), ``h~ = tanh(W_c [c; s])`` predicts the word, and with ``input_feeding`` ``h~`` is
  fed to the next step.
- ``arch: transformer`` -- pre-norm encoder and decoder layers (self-attention, causal
  self-attention, cross-attention), learned positions.

One sentencepiece vocabulary serves both languages, so ``tie_embeddings`` shares the source,
target and output embeddings. Training is teacher-forced cross-entropy with label smoothing,
padding ignored. Decoding (:mod:`amkit.models.decoding`) is greedy or beam search; both
return the cross-attention of each output token. ``evaluate`` adds corpus BLEU (sacrebleu)
of greedy (or ``decode_beam``) output on detokenized text (``bleu``) and lowercased
13a-tokenized BLEU (``bleu_lc``), closer to the tokenized BLEU many Multi30k papers report.

Legend: B batch, S source length, T target length, E embedding width, H hidden width,
V vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention import Attention
from amkit.attention.masks import masked_softmax
from amkit.attention.multihead import MultiHeadAttention
from amkit.attention.transformer import TransformerEncoder
from amkit.config import option
from amkit.data.base import DataInfo, iterate_batches
from amkit.data.multi30k import EOS
from amkit.encoders import ChunkedEncoder, RNNEncoder
from amkit.errors import UserError
from amkit.models.base import ModelOutput, register_model
from amkit.models.decoding import beam_search, greedy_decode

SCORES = {"bahdanau": "additive", "concat": "additive", "dot": "dot", "general": "general"}


@dataclass
class TranslationOutput(ModelOutput):
    """Output of both translation models (teacher-forced).

    Attributes:
        logits: ``(B, T, V)`` next-token scores at every target position.
        cross: ``(B, T, S)`` each target position's attention over the source (the
            Transformer's: mean over heads, last decoder layer); with ``need_weights``.
    """

    cross: Tensor | None = None


@dataclass
class Seq2SeqConfig:
    """Defaults: a small attention GRU for Multi30k (Bahdanau et al. 2015's model, smaller)."""

    arch: Literal["rnn", "transformer"] = "rnn"
    cell: Literal["gru", "lstm"] = "gru"
    attention: Literal["bahdanau", "dot", "general", "concat"] = "bahdanau"
    input_feeding: bool = True  # Luong attention only
    # rnn: a bidirectional RNN over the tokens; chunked: attention pools chunks of
    # chunk_size tokens, a BiGRU runs over the chunk summaries (the decoder attends chunks)
    encoder: Literal["rnn", "chunked"] = "rnn"
    chunk_size: int = option(4, ge=1)
    d_model: int = option(256, ge=1)  # embedding width (the Transformer's width)
    hidden: int = option(512, ge=1)  # RNN width
    layers: int = option(1, ge=1)  # RNN encoder layers
    n_heads: int = option(4, ge=1)
    n_layers: int = option(3, ge=1)  # Transformer layers (encoder and decoder)
    d_ff: int = option(1024, ge=1)
    dropout: float = option(0.3, ge=0, lt=1)
    tie_embeddings: bool = True
    label_smoothing: float = option(0.1, ge=0, lt=1)
    decode_beam: int = option(1, ge=1)  # beam used for BLEU in evaluate (1 = greedy)
    length_penalty: float = option(0.6, ge=0)
    max_decode_len: int = option(80, ge=1)

    def validate(self) -> list[str]:
        if self.arch == "transformer" and self.d_model % self.n_heads:
            return [f"model.d_model ({self.d_model}) must be divisible by model.n_heads "
                    f"({self.n_heads})"]  # fmt: skip
        return []


class _Translator(nn.Module):
    """What both architectures share: loss, decoding, BLEU."""

    config: Seq2SeqConfig

    def _setup(self, config: Seq2SeqConfig, data_info: DataInfo) -> None:
        self.config = config
        self.vocab_size = data_info.vocab_size
        self.tokenizer = data_info.tokenizer

    def loss(self, logits: Tensor, targets: Tensor | None) -> Tensor | None:
        if targets is None:
            return None
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
            ignore_index=0, label_smoothing=self.config.label_smoothing,
        )  # fmt: skip

    def decode(self, src: Tensor, beam: int | None = None, max_len: int | None = None):
        beam = self.config.decode_beam if beam is None else beam
        max_len = self.config.max_decode_len if max_len is None else max_len
        if beam == 1:
            return greedy_decode(self, src, max_len)
        return beam_search(self, src, max_len, beam, self.config.length_penalty)

    def translate(self, sentences: list[str], beam: int | None = None, batch_size: int = 64):
        """Detokenized translations of ``sentences`` and each one's attention ``(T, S)``."""
        if self.tokenizer is None:
            raise UserError("this model has no tokenizer: build it from a translation dataset")
        was_training = self.training
        self.eval()
        texts, alignments = [], []
        for start in range(0, len(sentences), batch_size):
            chunk = sentences[start : start + batch_size]
            ids = [self.tokenizer.encode(s) or [EOS] for s in chunk]
            device = next(self.parameters()).device
            src = torch.zeros(len(ids), max(map(len, ids)), dtype=torch.long, device=device)
            for i, row in enumerate(ids):
                src[i, : len(row)] = torch.tensor(row, device=device)
            out = self.decode(src, beam)
            for i, row in enumerate(out.tokens.tolist()):
                real = [t for t in row if t]
                texts.append(self.tokenizer.decode(real))
                alignments.append(out.attention[i, : len(real), : len(ids[i])].cpu())
        self.train(was_training)
        return texts, alignments

    def extra_metrics(self, dataset, batch_size: int) -> dict[str, float]:
        """Corpus BLEU of decoded output against the references: the raw target sentences
        when the dataset carries them (``dataset.references``, as translation data does),
        else the targets decoded from their subword ids (which lose characters the
        vocabulary lacks and text past ``max_len``)."""
        if self.tokenizer is None:
            return {}
        import sacrebleu

        hypotheses, references = [], []
        for batch in iterate_batches(dataset, batch_size):  # unshuffled: dataset order
            out = self.decode(batch["src"].to(next(self.parameters()).device))
            for hyp, ref in zip(out.tokens.tolist(), batch["targets"].tolist(), strict=True):
                hypotheses.append(self.tokenizer.decode([t for t in hyp if t]))
                references.append(self.tokenizer.decode([t for t in ref if t]))
        raw = getattr(dataset, "references", None)
        if raw is not None:
            if len(raw) != len(hypotheses):
                raise UserError(
                    f"dataset.references has {len(raw)} sentences for {len(hypotheses)} examples"
                )
            references = list(raw)
        bleu = sacrebleu.corpus_bleu(hypotheses, [references])
        bleu_lc = sacrebleu.corpus_bleu(hypotheses, [references], lowercase=True)
        return {"bleu": float(bleu.score), "bleu_lc": float(bleu_lc.score)}


@register_model("seq2seq", config=Seq2SeqConfig)
def build_seq2seq(config: Seq2SeqConfig, data_info: DataInfo) -> nn.Module:
    """``arch: rnn`` -> :class:`RNNSeq2Seq`; ``transformer`` -> :class:`TransformerSeq2Seq`."""
    if config.arch == "rnn":
        return RNNSeq2Seq(config, data_info)
    return TransformerSeq2Seq(config, data_info)


class RNNSeq2Seq(_Translator):
    """Bidirectional RNN encoder, attentive RNN decoder; ``forward(src, tgt_in, targets)``."""

    def __init__(self, config: Seq2SeqConfig, data_info: DataInfo):
        super().__init__()
        self._setup(config, data_info)
        v, e, h = self.vocab_size, config.d_model, config.hidden
        self.src_embedding = nn.Embedding(v, e, padding_idx=0)
        self.tgt_embedding = (
            self.src_embedding if config.tie_embeddings else nn.Embedding(v, e, padding_idx=0)
        )
        if config.encoder == "chunked":
            self.encoder = ChunkedEncoder(e, h, config.chunk_size, config.layers, config.dropout)
        else:
            self.encoder = RNNEncoder(config.cell, e, h, config.layers, config.dropout)
        self.memory_proj = nn.Linear(2 * h, h)  # keys and values of the attention
        self.bridge = nn.Linear(2 * h, h)  # the decoder's first state
        self.bahdanau = config.attention == "bahdanau"
        self.feeding = not self.bahdanau and config.input_feeding
        cell_in = e + h if (self.bahdanau or self.feeding) else e
        self.cell = (nn.GRUCell if config.cell == "gru" else nn.LSTMCell)(cell_in, h)
        self.attn = Attention(SCORES[config.attention], query_dim=h, key_dim=h)
        if self.bahdanau:
            self.pre_output = nn.Linear(h + h + e, e)  # [s; c; y_prev] -> E
        else:
            self.combine = nn.Linear(2 * h, h)  # h~ = tanh(W_c [c; s])
            self.pre_output = nn.Linear(h, e)
        self.out_bias = nn.Parameter(torch.zeros(v))
        self.drop = nn.Dropout(config.dropout)

    # ---------------------------------------------------------------- decoding API
    def encode(self, src: Tensor) -> dict[str, Tensor]:
        mask = src != 0  # (B, S)
        x = self.drop(self.src_embedding(src))  # (B, S, E)
        memory = {}
        if self.config.encoder == "chunked":
            states, mask, inner = self.encoder(x, mask)  # (B, S', 2H), (B, S'), (B, S', c)
            memory["inner"] = inner
            # (B, S, 0): carries the source length S through beam reordering
            memory["tokens"] = torch.zeros(src.shape[0], src.shape[1], 0, device=src.device)
        else:
            states = self.encoder(x, mask)  # (B, S, 2H)
        mean = (states * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        memory.update({"memory": self.memory_proj(states), "mask": mask, "summary": mean})
        if self.config.attention in ("bahdanau", "concat"):  # W_k k once, not at every step
            memory["keys"] = self.attn.score.key_proj(memory["memory"])  # (B, S, A)
        return memory

    def start(self, memory: dict[str, Tensor]) -> dict[str, Tensor]:
        h0 = torch.tanh(self.bridge(memory["summary"]))  # (B, H)
        state = {"h": h0, "feed": torch.zeros_like(h0)}
        if self.config.cell == "lstm":
            state["c"] = torch.zeros_like(h0)
        return state

    def _cell(self, x: Tensor, state: dict[str, Tensor]) -> dict[str, Tensor]:
        if self.config.cell == "lstm":
            h, c = self.cell(x, (state["h"], state["c"]))
            return {**state, "h": h, "c": c}
        return {**state, "h": self.cell(x, state["h"])}

    def _attend(self, query: Tensor, memory: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """``query (B, H)`` over the source: context ``(B, H)``, weights ``(B, S)``."""
        if "keys" not in memory:
            context, weights = self.attn(
                query.unsqueeze(1), memory["memory"], memory["memory"],
                mask=memory["mask"], need_weights=True,
            )  # fmt: skip
            return context[:, 0], weights[:, 0]
        # the additive score with the keys projected once per sentence (same formula)
        scores = self.attn.score.score_projected(query.unsqueeze(1), memory["keys"])[:, 0]
        weights = masked_softmax(scores, memory["mask"])  # (B, S)
        return (weights.unsqueeze(1) @ memory["memory"]).squeeze(1), weights

    def output(self, pre: Tensor) -> Tensor:
        """Pre-output vectors ``(..., E)`` -> logits ``(..., V)`` (tied to the embeddings)."""
        return pre @ self.tgt_embedding.weight.T + self.out_bias

    @staticmethod
    def token_weights(weights: Tensor, memory: dict[str, Tensor]) -> Tensor:
        """Chunked encoder: chunk weights ``(B, S')`` times the within-chunk weights ->
        per-token weights ``(B, S)``; the token encoder's weights pass through."""
        if "inner" not in memory:
            return weights
        inner = memory["inner"]  # (B, S', c)
        tokens = (weights.unsqueeze(-1) * inner).flatten(1)  # (B, S' * c)
        return tokens[:, : memory["tokens"].shape[1]]

    def step_pre(self, prev: Tensor, state, memory) -> tuple[Tensor, dict, Tensor]:
        """One decoder step: the pre-output vector ``(B, E)``, new state, weights ``(B, S)``."""
        y = self.drop(self.tgt_embedding(prev))  # (B, E)
        if self.bahdanau:
            context, weights = self._attend(state["h"], memory)
            state = self._cell(torch.cat([y, context], -1), state)
            pre = torch.tanh(self.pre_output(self.drop(torch.cat([state["h"], context, y], -1))))
        else:
            state = self._cell(torch.cat([y, state["feed"]], -1) if self.feeding else y, state)
            context, weights = self._attend(state["h"], memory)
            feed = torch.tanh(self.combine(torch.cat([context, state["h"]], -1)))  # h~
            state = {**state, "feed": feed}
            pre = self.pre_output(self.drop(feed))
        return pre, state, self.token_weights(weights, memory)

    def step(self, prev: Tensor, state, memory):
        pre, state, weights = self.step_pre(prev, state, memory)
        return F.log_softmax(self.output(pre).float(), -1), state, weights

    def forward(self, src, tgt_in, targets=None, need_weights: bool = False) -> TranslationOutput:
        """``src (B, S)``, ``tgt_in (B, T)`` (``<s>`` + target), ``targets (B, T)``."""
        memory = self.encode(src)
        state = self.start(memory)
        pres, weights = [], []
        for t in range(tgt_in.shape[1]):
            pre, state, w = self.step_pre(tgt_in[:, t], state, memory)
            pres.append(pre)
            weights.append(w)
        logits = self.output(torch.stack(pres, 1))  # (B, T, V): one product for all steps
        cross = torch.stack(weights, 1) if need_weights else None  # (B, T, S)
        return TranslationOutput(logits, self.loss(logits, targets), cross=cross)


class DecoderLayer(nn.Module):
    """Pre-norm: causal self-attention, cross-attention over the source, feed-forward."""

    def __init__(self, d: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = MultiHeadAttention(d, n_heads)
        self.cross_attn = MultiHeadAttention(d, n_heads)
        self.ff = nn.Sequential(nn.Linear(d, d_ff), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(d_ff, d))  # fmt: skip
        self.drop = nn.Dropout(dropout)

    def forward(self, x, source_kv, tgt_real, src_real, need_weights=False, past=None):
        """``x (B, T, D)`` -> ``(B, T, D)``, cross-attention ``(B, H, T, S)``, and the
        self-attention keys and values ``(B, H, T', Dh)`` each. ``source_kv``: the encoder
        states projected by ``cross_attn.project_kv``. With ``past`` (the keys and values of
        the earlier positions) ``x`` is one new position that attends to them too: decoding
        a token at a time with a key/value cache (``tgt_real (B, T')``)."""
        h = self.norm1(x)
        k, v = self.self_attn.project_kv(h)  # (B, H, T, Dh)
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        attended, _ = self.self_attn(h, kv=(k, v), valid_keys=tgt_real, is_causal=past is None)
        x = x + self.drop(attended)
        h = self.norm2(x)
        attended, weights = self.cross_attn(
            h, kv=source_kv, valid_keys=src_real, need_weights=need_weights
        )  # (B, T, D), (B, H, T, S)
        x = x + self.drop(attended)
        return x + self.drop(self.ff(self.norm3(x))), weights, (k, v)


class TransformerSeq2Seq(_Translator):
    """Pre-norm Transformer encoder-decoder with tied embeddings and learned positions."""

    def __init__(self, config: Seq2SeqConfig, data_info: DataInfo):
        super().__init__()
        self._setup(config, data_info)
        d = config.d_model
        self.embedding = nn.Embedding(self.vocab_size, d, padding_idx=0)
        self.tgt_embedding = (
            self.embedding
            if config.tie_embeddings
            else nn.Embedding(self.vocab_size, d, padding_idx=0)
        )
        nn.init.normal_(self.embedding.weight, std=d**-0.5)
        positions = max(data_info.max_len or 100, config.max_decode_len) + 2
        self.positions = nn.Embedding(positions, d)
        self.encoder = TransformerEncoder(d, config.n_heads, config.n_layers, config.d_ff,
                                          config.dropout, attention_dropout=0.0)  # fmt: skip
        self.decoder = nn.ModuleList(
            DecoderLayer(d, config.n_heads, config.d_ff, config.dropout)
            for _ in range(config.n_layers)
        )
        self.final_norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(config.dropout)

    def _embed(self, table: nn.Embedding, tokens: Tensor, first: int = 0) -> Tensor:
        """``tokens (B, T)`` at positions ``first..first + T - 1`` -> ``(B, T, D)``."""
        x = table(tokens) * self.config.d_model**0.5
        where = torch.arange(first, first + tokens.shape[1], device=tokens.device)
        return self.drop(x + self.positions(where))

    def encode(self, src: Tensor) -> dict[str, Tensor]:
        """``src (B, S)`` -> the encoder states ``memory (B, S, D)``, ``mask (B, S)`` and each
        decoder layer's projected keys and values of them, ``k{i}`` / ``v{i}``
        ``(B, H, S, Dh)``, computed once per sentence."""
        mask = src != 0
        states, _ = self.encoder(self._embed(self.embedding, src), valid_keys=mask)
        memory = {"memory": states, "mask": mask}
        for i, layer in enumerate(self.decoder):
            memory[f"k{i}"], memory[f"v{i}"] = layer.cross_attn.project_kv(states)
        return memory

    def decode_states(self, tgt_in: Tensor, memory, need_weights=False):
        x = self._embed(self.tgt_embedding, tgt_in)
        cross = None
        for i, layer in enumerate(self.decoder):
            source_kv = (memory[f"k{i}"], memory[f"v{i}"])
            x, cross, _ = layer(x, source_kv, tgt_in != 0, memory["mask"], need_weights)
        logits = self.final_norm(x) @ self.tgt_embedding.weight.T  # (B, T, V)
        return logits, cross  # cross: the last layer's (B, H, T, S)

    def start(self, memory):
        """The decoding state: the tokens so far ``prefix (B, t)`` and, per layer ``i``, the
        self-attention keys and values of those tokens ``k{i}`` / ``v{i}`` ``(B, H, t, Dh)``
        (a key/value cache)."""
        mask = memory["mask"]
        state = {"prefix": torch.zeros(mask.shape[0], 0, dtype=torch.long, device=mask.device)}
        for i in range(len(self.decoder)):
            empty = memory[f"k{i}"][:, :, :0]  # (B, H, 0, Dh)
            state[f"k{i}"], state[f"v{i}"] = empty, empty
        return state

    def step(self, prev: Tensor, state, memory):
        """One token ``prev (B,)`` through the decoder, attending to the cached earlier ones."""
        prefix = torch.cat([state["prefix"], prev.unsqueeze(1)], 1)  # (B, t)
        x = self._embed(self.tgt_embedding, prev.unsqueeze(1), first=prefix.shape[1] - 1)
        new_state = {"prefix": prefix}
        for i, layer in enumerate(self.decoder):
            x, cross, (new_state[f"k{i}"], new_state[f"v{i}"]) = layer(
                x, (memory[f"k{i}"], memory[f"v{i}"]), prefix != 0, memory["mask"], True,
                (state[f"k{i}"], state[f"v{i}"]),
            )  # fmt: skip
        logits = self.final_norm(x[:, -1]) @ self.tgt_embedding.weight.T  # (B, V)
        weights = cross[:, :, -1].mean(1)  # (B, S): the new token, mean over heads
        return F.log_softmax(logits.float(), -1), new_state, weights

    def forward(self, src, tgt_in, targets=None, need_weights: bool = False) -> TranslationOutput:
        """``src (B, S)``, ``tgt_in (B, T)`` (``<s>`` + target), ``targets (B, T)``."""
        memory = self.encode(src)
        logits, cross = self.decode_states(tgt_in, memory, need_weights)
        cross = cross.mean(1) if need_weights else None  # (B, T, S): mean over heads
        return TranslationOutput(logits, self.loss(logits, targets), cross=cross)
