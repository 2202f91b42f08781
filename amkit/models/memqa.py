"""Question answering over a story memory on bAbI: MemN2N (Sukhbaatar et al. 2015), and the
models past it: Recurrent Entity Network (Henaff et al. 2017), DNC (Graves et al. 2016) and
Universal Transformer (Dehghani et al. 2019). Each reads ``story (B, M, L)`` and
``query (B, Lq)`` and answers with a vocabulary word.

MemN2N:
The answer is a vocabulary word: ``logits = (o^K + u^K) W^T`` over the vocabulary, as in the
paper (with adjacent tying ``W^T = C^K``).

Deviations from the paper, and why:

- the loss is the *mean* cross-entropy over the batch; the paper's code sums it. With plain
  SGD the two are the same once the learning rate and the clipping norm are scaled by the
  batch size, which the shipped configs do (lr 0.01 * 32, clip 40 / 32).
- linear start ends when validation loss has not improved for ``ls_patience`` epochs, or
  after ``ls_max_epochs`` epochs, whichever comes first (the paper: "when validation loss
  stops decreasing"; the authors' code runs a fixed 20 epochs per task, 30 joint). As in
  their code, the learning-rate schedule starts again when the softmax is put back.

Legend: B batch, M memory slots, L words, K hops, V vocabulary.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax
from amkit.config import option
from amkit.encoders import pool
from amkit.memory.dnc import DNC
from amkit.memory.entnet import EntityNetwork, PositionMaskEncoder
from amkit.memory.memn2n import MemN2N, ages_from_newest
from amkit.memory.universal_transformer import UniversalTransformer, set_identity
from amkit.models.base import ModelOutput, register_model

log = logging.getLogger("amkit")


@dataclass
class MemN2NConfig:
    """Defaults: the paper's joint-training model (PE LS RN, 3 hops, adjacent tying, d=50)."""

    d_model: int = option(50, ge=1)  # paper: 20 per task, 50 joint
    hops: int = option(3, ge=1)
    encoding: Literal["pe", "pe_code", "bow"] = "pe"  # pe_code: the authors' code's PE
    temporal: bool = True
    tying: Literal["adjacent", "layerwise", "none"] = "adjacent"
    linear_start: bool = True
    ls_max_epochs: int = option(30, ge=1)  # linear start never lasts longer than this
    ls_patience: int = option(3, ge=1)  # epochs without a lower val loss that end LS
    random_noise: float = option(0.1, ge=0, lt=1)  # RN: share of blank memories at training
    rn_mode: Literal["paper", "code"] = "paper"  # code: the authors' code's way to draw blanks
    empty_slots: bool = False  # authors' code: empty memory slots stay in the softmax as zeros
    init_std: float = option(0.1, gt=0)
    # adjacent tying's B = A^1 and W^T = C^K (the paper); false: a matrix of their own
    tie_question: bool = True
    tie_answer: bool = True

    def validate(self) -> list[str]:
        if self.tying != "adjacent" and not (self.tie_question and self.tie_answer):
            return [f"model.tie_question/tie_answer apply to adjacent tying, not {self.tying!r}"]
        return []


@register_model("memn2n", config=MemN2NConfig)
class MemN2NQA(nn.Module):
    """MemN2N answering bAbI questions; ``forward(story, query, targets=None)``."""

    def __init__(self, config: MemN2NConfig, data_info: dict):
        super().__init__()
        self.config = config
        self.memory = MemN2N(
            vocab_size=data_info["vocab_size"],
            memory_size=data_info["memory_size"],
            dim=config.d_model,
            hops=config.hops,
            encoding=config.encoding,
            temporal=config.temporal,
            tying=config.tying,
            random_noise=config.random_noise,
            init_std=config.init_std,
            rn_mode=config.rn_mode,
            empty_slots=config.empty_slots,
            tie_question=config.tie_question,
            tie_answer=config.tie_answer,
        )
        _register_linear_start(self, config.linear_start)
        pad_column = torch.zeros(data_info["vocab_size"], dtype=torch.bool)
        pad_column[0] = True
        self.register_buffer("pad_column", pad_column, persistent=False)

    def forward(
        self,
        story: Tensor,
        query: Tensor,
        targets: Tensor | None = None,
        need_weights: bool = False,
    ) -> ModelOutput:
        """story ``(B, M, L)``, query ``(B, Lq)``, targets ``(B,)`` vocabulary ids."""
        u, weights = self.memory(
            story, query, linear=bool(self.linear_phase), need_weights=need_weights
        )  # (B, d), (B, K, M)
        logits = u @ self.memory.answer_weight.T  # (B, V)
        # Padding is never an answer; masking its logit also keeps W's padding row (which is
        # C^K's with adjacent tying) at zero, so padding words never enter the memories.
        logits = logits.masked_fill(self.pad_column, torch.finfo(logits.dtype).min)
        loss = F.cross_entropy(logits, targets) if targets is not None else None
        attention = {"hops": weights} if weights is not None else {}
        return ModelOutput(logits=logits, loss=loss, attention=attention)

    def epoch_end(self, epoch: int, record: dict) -> dict | None:
        """Trainer hook: end linear start when validation loss stops falling
        (:func:`_linear_start_epoch_end`)."""
        return _linear_start_epoch_end(
            self, epoch, record, self.config.ls_patience, self.config.ls_max_epochs,
            "softmax back in the memory layers",
        )  # fmt: skip


def _register_linear_start(model: nn.Module, enabled: bool) -> None:
    """Linear-start state in buffers, so checkpoints and resume carry it."""
    model.register_buffer("linear_phase", torch.tensor(enabled))
    model.register_buffer("linear_best_val_loss", torch.tensor(float("inf")))
    model.register_buffer("linear_bad_epochs", torch.tensor(0))


def _linear_start_epoch_end(
    model: nn.Module, epoch: int, record: dict, patience: int, max_epochs: int, what: str
) -> dict | None:
    """End a model's linear start when validation loss has not fallen for ``patience``
    epochs or after ``max_epochs``.

    Returns ``{"hold_schedule": True}`` while linear start goes on (an epoch-wise schedule
    holds its learning rate, as in the MemN2N authors' code; the per-step warm-up goes on)
    and ``{"restart_schedule": True}`` when the softmax goes back in.
    """
    if not bool(model.linear_phase):
        return None
    val_loss = record["val_loss"]
    if val_loss < float(model.linear_best_val_loss):
        model.linear_best_val_loss.fill_(val_loss)
        model.linear_bad_epochs.zero_()
    else:
        model.linear_bad_epochs += 1
    if int(model.linear_bad_epochs) >= patience or epoch >= max_epochs:
        model.linear_phase.fill_(False)
        record["linear_start_ended"] = True
        log.info("epoch %d: linear start ends, %s", epoch, what)
        return {"restart_schedule": True}
    return {"hold_schedule": True}


def _answer(
    logits: Tensor, pad_column: Tensor, targets: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    """Mask padding out of the answer logits ``(B, V)``; cross-entropy when targets are given."""
    logits = logits.masked_fill(pad_column, torch.finfo(logits.dtype).min)
    return logits, (F.cross_entropy(logits, targets) if targets is not None else None)


def _pad_column(vocab_size: int) -> Tensor:
    column = torch.zeros(vocab_size, dtype=torch.bool)
    column[0] = True
    return column


def _up_to_last_sentence(story: Tensor) -> Tensor:
    """``story (B, M, L)`` without the slots after the batch's last sentence ``(B, M', L)``
    (at least one slot)."""
    filled = (story != 0).any(-1).any(0)  # (M,)
    return story[:, : int(filled.nonzero().max()) + 1 if filled.any() else 1]


def _sentences_then_question(model: nn.Module, story: Tensor, query: Tensor):
    """``story (B, M, L)`` and ``query (B, Lq)`` through the model's position-mask encoders:
    one vector per sentence, the question last -> ``(B, M + 1, d)`` and its real mask."""
    sentences = model.story_encoder(story)  # (B, M, d)
    question = model.query_encoder(query).unsqueeze(1)  # (B, 1, d)
    real = torch.cat([(story != 0).any(-1), torch.ones_like(question[..., 0]).bool()], 1)
    return torch.cat([sentences, question], 1), real


@dataclass
class EntNetConfig:
    """Defaults: the paper's bAbI model (Henaff et al. 2017: d=100, 20 slots, free keys)."""

    d_model: int = option(100, ge=1)
    slots: int = option(20, ge=1)
    keys: Literal["free", "tied"] = "free"
    key_words: list[str] = field(default_factory=list)  # tied keys: these words' embeddings
    init_std: float = option(0.1, gt=0)
    # details of the authors' Torch code that the paper's equations leave out (defaults: off)
    prelu_init: float = 0.25  # the authors' code: 1.0 (both PReLUs start as the identity)
    prelu_per_channel: bool = False  # the authors' code: one slope per feature
    biases: bool = False  # the authors' code: a gate bias per slot and a bias in U h

    def validate(self) -> list[str]:
        if self.keys == "tied" and not self.key_words:
            return [
                "model.key_words: tied keys need the words to tie them to, e.g. "
                "[mary, john, kitchen, football]"
            ]
        return []


@register_model("entnet", config=EntNetConfig)
class EntNetQA(nn.Module):
    """Recurrent Entity Network on bAbI; ``forward(story, query, targets=None)``.

    With ``need_weights`` the output's attention holds ``gates`` ``(B, M, S)`` (which slot
    took which sentence) and ``slots`` ``(B, S)`` (the question's read over the slots).
    """

    def __init__(self, config: EntNetConfig, data_info: dict):
        super().__init__()
        self.config = config
        key_ids = None
        if config.keys == "tied":
            index = {w: i for i, w in enumerate(data_info["vocab"])}
            missing = [w for w in config.key_words if w not in index]
            if missing:
                raise ValueError(f"model.key_words not in the vocabulary: {missing}")
            key_ids = [index[w] for w in config.key_words]
        self.entnet = EntityNetwork(
            data_info["vocab_size"],
            data_info["sentence_len"],
            data_info["query_len"],
            dim=config.d_model,
            n_slots=config.slots,
            key_ids=key_ids,
            init_std=config.init_std,
            prelu_init=config.prelu_init,
            prelu_per_channel=config.prelu_per_channel,
            biases=config.biases,
        )
        self.register_buffer("pad_column", _pad_column(data_info["vocab_size"]), persistent=False)

    def compile_steps(self) -> None:
        """``train.compile``: compile the per-sentence memory update."""
        self.entnet.compile_step()

    def forward(self, story, query, targets=None, need_weights: bool = False) -> ModelOutput:
        """story ``(B, M, L)``, query ``(B, Lq)``, targets ``(B,)`` vocabulary ids."""
        logits, weights = self.entnet(story, query, need_weights=need_weights)
        logits, loss = _answer(logits, self.pad_column, targets)
        return ModelOutput(logits=logits, loss=loss, attention=weights)


@dataclass
class DNCConfig:
    """Defaults: the paper's bAbI DNC (Graves et al. 2016: LSTM 256, N=256, W=64, R=4, one
    word per step). ``step: sentence`` feeds one position-masked bag of words per sentence
    instead: about 7x fewer steps, not the paper's setting."""

    d_model: int = option(64, ge=1)  # word embedding width (the paper used one-hot words)
    hidden_size: int = option(256, ge=1)
    memory_slots: int = option(256, ge=1)
    word_size: int = option(64, ge=1)
    read_heads: int = option(4, ge=1)
    step: Literal["word", "sentence"] = "word"
    clip: float = option(20.0, gt=0)
    # the robust DNC of Franke et al. 2018 (ADNC): off by default, see amkit.memory.dnc
    controller_norm: bool = False
    interface_norm: bool = False
    bypass_dropout: float = option(0.0, ge=0, lt=1)
    links: bool = True


@register_model("dnc", config=DNCConfig)
class DNCQA(nn.Module):
    """Differentiable Neural Computer on bAbI; ``forward(story, query, targets=None)``.

    The story then the question are fed one step at a time (words, with an end-of-sentence
    and an end-of-question marker; or sentences); the answer is read from the output of the
    last step. With ``need_weights`` the attention holds the DNC's ``write`` ``(B, T, N)``
    and ``read`` ``(B, T, R, N)`` weights and its gates ``(B, T)``.
    """

    def __init__(self, config: DNCConfig, data_info: dict):
        super().__init__()
        self.config = config
        vocab_size = data_info["vocab_size"]
        self.end_of_sentence, self.end_of_question = vocab_size, vocab_size + 1
        self.embedding = nn.Embedding(vocab_size + 2, config.d_model, padding_idx=0)
        if config.step == "sentence":
            self.story_encoder = PositionMaskEncoder(self.embedding, data_info["sentence_len"])
            self.query_encoder = PositionMaskEncoder(self.embedding, data_info["query_len"])
        self.dnc = DNC(
            config.d_model,
            vocab_size,
            hidden_size=config.hidden_size,
            memory_slots=config.memory_slots,
            word_size=config.word_size,
            read_heads=config.read_heads,
            clip=config.clip,
            controller_norm=config.controller_norm,
            interface_norm=config.interface_norm,
            bypass_dropout=config.bypass_dropout,
            links=config.links,
        )
        self.register_buffer("pad_column", _pad_column(vocab_size), persistent=False)

    def word_steps(self, story: Tensor, query: Tensor) -> tuple[Tensor, Tensor]:
        """Token ids ``(B, T)`` with the markers, real tokens first, and their mask."""
        batch = story.shape[0]
        story, query = story.long(), query.long()
        real = (story != 0).any(-1, keepdim=True)  # (B, M, 1)
        marker = torch.full_like(story[..., :1], self.end_of_sentence) * real
        question_end = torch.full_like(query[:, :1], self.end_of_question)
        tokens = torch.cat([torch.cat([story, marker], -1).view(batch, -1), query, question_end], 1)
        order = torch.argsort((tokens == 0).int(), dim=1, stable=True)  # real tokens first
        tokens = tokens.gather(1, order)
        length = int((tokens != 0).sum(1).max())
        tokens = tokens[:, :length]
        return tokens, tokens != 0

    def forward(self, story, query, targets=None, need_weights: bool = False) -> ModelOutput:
        """story ``(B, M, L)``, query ``(B, Lq)``, targets ``(B,)`` vocabulary ids."""
        if self.config.step == "word":
            tokens, mask = self.word_steps(story, query)
            inputs = self.embedding(tokens)  # (B, T, d)
        else:
            # no step past the last sentence: (B, M' + 1, d)
            inputs, mask = _sentences_then_question(self, _up_to_last_sentence(story), query)
        outputs, _, weights = self.dnc(inputs, mask, need_weights=need_weights)
        last = mask.long().cumsum(1).argmax(1)  # (B,) index of each example's last real step
        logits = outputs[torch.arange(len(last)), last]  # (B, V)
        logits, loss = _answer(logits, self.pad_column, targets)
        return ModelOutput(logits=logits, loss=loss, attention=weights)


class CopyPointer(nn.Module):
    """A copy readout over the story's words: ``read (B, d)`` attends (one head, scaled dot
    product) over the sentence states ``(B, M, d)``; word ``w`` gets the weight of every
    sentence that holds it, ``pointer[b, w] = sum_s a[b, s] * count(w in story[b, s])``, and
    the answer logits gain ``strength(read) * pointer``, ``strength = softplus(w . read + c)``.

    ``forward(read, states, story (B, M, L), real (B, M)) -> (bonus (B, V), a (B, M))``."""

    def __init__(self, d_model: int, vocab_size: int):
        super().__init__()
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.strength = nn.Linear(d_model, 1)
        nn.init.constant_(self.strength.bias, 2.0)  # softplus(2) ~ 2.1 logits for a full copy
        self.vocab_size = vocab_size

    def forward(self, read: Tensor, states: Tensor, story: Tensor, real: Tensor):
        scores = torch.einsum("bd,bmd->bm", self.query(read), self.key(states))
        scores = scores / math.sqrt(read.shape[-1])
        weights = masked_softmax(scores, real)  # (B, M); no sentence: all 0, points nowhere
        batch, slots, words = story.shape
        per_word = weights.unsqueeze(-1).expand(batch, slots, words) * (story != 0)
        pointer = read.new_zeros(batch, self.vocab_size)
        pointer.scatter_add_(1, story.reshape(batch, -1), per_word.reshape(batch, -1))
        return F.softplus(self.strength(read)) * pointer, weights


@dataclass
class UTConfig:
    """Defaults: the UT paper's bAbI setting as far as it is given (Dehghani et al. 2019:
    sentences as position-masked bags of words, sinusoidal position and step coordinates,
    ACT with at most 8 steps; d=128, 4 heads). Positions count back from the question, which
    the paper does not specify."""

    d_model: int = option(128, ge=1)
    n_heads: int = option(4, ge=1)
    d_ff: int = option(256, ge=1)
    max_steps: int = option(8, ge=1)
    act: bool = True
    threshold: float = option(0.99, gt=0, le=1)
    act_loss_weight: float = option(0.001, ge=0)  # weight of the ponder cost in the loss
    dropout: float = option(0.1, ge=0, lt=1)
    # position and step embeddings: the paper's fixed sinusoids, or learned tables
    coordinates: Literal["sinusoidal", "learned"] = "sinusoidal"
    # from_question: a sentence's position is its distance from the question (question 0,
    # newest sentence 1, ...; MemN2N's temporal order), so "latest" means the same in every
    # story; from_start: the slot index, the question at memory_size
    positions: Literal["from_question", "from_start"] = "from_question"
    # above 0: a learned per-head attention bias of the position difference clipped to
    # +-relative_distance (Shaw et al. 2018; not in the UT paper); 0: the paper's model
    relative_distance: int = option(0, ge=0)
    # where the answer is read: the question's position after the last step, or the mean
    # over every real position (sentences and question), as the paper's tensor2tensor code
    # does (its class-label output layer averages the encoder's outputs)
    readout: Literal["question", "mean"] = "question"
    # MemN2N's linear start (not in the UT paper): self-attention without its softmax (the
    # weights are the scaled scores) until validation loss stops falling for ls_patience
    # epochs or ls_max_epochs have passed; then the softmax, and the schedule starts again
    linear_start: bool = False
    ls_max_epochs: int = option(20, ge=1)
    ls_patience: int = option(3, ge=1)
    # independent: the query and key projections start as two random matrices (the paper);
    # equal: the key projection starts as a copy of the query one, so a position's score
    # with a position of the same content starts positive (|W x|^2), as MemN2N's u . m does
    # with the question and the memories embedded alike. Only the start: they train apart.
    qk_init: Literal["independent", "equal"] = "independent"
    # all: every position is updated at every step (the paper); question: only the
    # question's, the sentences stay as encoded and are read, as MemN2N's hops read memories
    update: Literal["all", "question"] = "all"
    # what each step has of its own: none (the paper: one shared layer), keys (a map
    # before the key projection, identity at the start), layer (no sharing at all)
    per_step: Literal["none", "keys", "layer"] = "none"
    # the answer layer: its own linear map (the paper), or the word embedding itself,
    # logits = read . E_w / sqrt(d), as MemN2N ties W^T = C^K: the model answers with the
    # word its final state resembles. MemN2N without that tie fails bAbI task 16
    # (docs/memory.md)
    tie_answer: bool = False
    # random: value and output projections start random (the paper); identity: they start
    # as the identity, so what a step attends to enters the state as it is (with
    # tie_answer, a retrieved word is at once a likely answer, as in MemN2N)
    vo_init: Literal["random", "identity"] = "random"
    # transformer: a step is the paper's pre-norm attention + feed-forward layer;
    # attention: x + Attn(x) alone (no layer norm or feed-forward inside), as MemN2N's hop
    block: Literal["transformer", "attention"] = "transformer"
    # the word embedding starts from N(0, embedding_std^2) (1: PyTorch's default; MemN2N:
    # 0.1, which keeps its linear start's scores small)
    embedding_std: float = option(1.0, gt=0)
    # a copy readout (not in the UT paper): the question's final state attends once over the
    # sentences' final states (one head) and every word of a sentence gets that weight; the
    # answer logits add that pointer mass times a learned, per-question strength
    # (softplus, >= 0: 0 leaves the answer layer alone, as yes/no and counting answers
    # need). What MemN2N's answer tie W^T = C^K gives it: a retrieved word is a likely
    # answer, and the answer's gradient reaches the attention directly.
    pointer: bool = False

    def validate(self) -> list[str]:
        if self.d_model % self.n_heads:
            return [
                f"model.d_model ({self.d_model}) must be divisible by model.n_heads "
                f"({self.n_heads})"
            ]
        return []


@register_model("universal_transformer", config=UTConfig)
class UniversalTransformerQA(nn.Module):
    """Universal Transformer over the story's sentences and the question (last position);
    the answer is read at the question's position or, with ``readout: mean``, from the mean
    over the real positions.

    With ``need_weights`` the attention holds ``steps`` ``(B, K, H, T, T)`` (each step's
    self-attention; position ``T - 1`` is the question) and ``halting`` ``(B, K, T)``.
    """

    def __init__(self, config: UTConfig, data_info: dict):
        super().__init__()
        self.config = config
        vocab_size = data_info["vocab_size"]
        self.embedding = nn.Embedding(vocab_size, config.d_model, padding_idx=0)
        if config.embedding_std != 1.0:
            nn.init.normal_(self.embedding.weight, std=config.embedding_std)
            with torch.no_grad():
                self.embedding.weight[0].zero_()
        self.story_encoder = PositionMaskEncoder(self.embedding, data_info["sentence_len"])
        self.query_encoder = PositionMaskEncoder(self.embedding, data_info["query_len"])
        self.encoder = UniversalTransformer(
            config.d_model,
            config.n_heads,
            max_positions=data_info["memory_size"] + 1,
            max_steps=config.max_steps,
            act=config.act,
            threshold=config.threshold,
            d_ff=config.d_ff,
            dropout=config.dropout,
            coordinates=config.coordinates,
            relative_distance=config.relative_distance,
            update="last" if config.update == "question" else "all",
            per_step=config.per_step,
            block=config.block,
        )
        # tie_answer: the logits come from self.embedding (answer_logits); no layer of its own
        self.answer = None if config.tie_answer else nn.Linear(config.d_model, vocab_size)
        self.pointer = CopyPointer(config.d_model, vocab_size) if config.pointer else None
        self.register_buffer("pad_column", _pad_column(vocab_size), persistent=False)
        _register_linear_start(self, config.linear_start)
        with torch.no_grad():
            for attn in self.encoder.attention_layers():
                if config.qk_init == "equal":
                    attn.k_proj.weight.copy_(attn.q_proj.weight)
                    attn.k_proj.bias.copy_(attn.q_proj.bias)
                if config.vo_init == "identity":
                    set_identity(attn.v_proj)
                    set_identity(attn.out_proj)

    def forward(self, story, query, targets=None, need_weights: bool = False) -> ModelOutput:
        """story ``(B, M, L)``, query ``(B, Lq)``, targets ``(B,)`` vocabulary ids."""
        for attn in self.encoder.attention_layers():
            attn.linear = bool(self.linear_phase)
        full_length = story.shape[1]
        if not need_weights:  # drop the empty slots after the batch's last sentence: same
            # output, less work; explain sees all slots
            story = _up_to_last_sentence(story)
        inputs, real = _sentences_then_question(self, story, query)  # (B, M' + 1, d)
        if self.config.positions == "from_question":
            # the question 0, the newest sentence 1, ...: (B, M' + 1)
            positions = ages_from_newest(real.long())
        else:  # slot index; the question keeps position M whatever was dropped
            positions = torch.arange(inputs.shape[1], device=story.device)
            positions[-1] = full_length
        encoded = self.encoder(
            inputs, key_padding_mask=real, need_weights=need_weights, positions=positions
        )
        if self.config.readout == "mean":  # (B, d): the mean over the real positions
            read, _ = pool("mean", encoded.states, real, None)
        else:
            read = encoded.states[:, -1]  # (B, d): the question's position
        logits = self.answer_logits(read)
        if self.pointer is not None:
            bonus, pointed = self.pointer(read, encoded.states[:, :-1], story, real[:, :-1])
            logits = logits + bonus
        logits, loss = _answer(logits, self.pad_column, targets)
        if loss is not None and self.config.act:
            loss = loss + self.config.act_loss_weight * encoded.ponder_cost.mean()
        attention = {}
        if need_weights:
            attention = {"steps": encoded.attention, "ponder": encoded.steps}
            if encoded.halting is not None:
                attention["halting"] = encoded.halting
            if self.pointer is not None:
                attention["pointer"] = pointed
        return ModelOutput(logits=logits, loss=loss, attention=attention)

    def answer_logits(self, read: Tensor) -> Tensor:
        """``read (B, d)`` -> logits ``(B, V)``: the answer layer, or with ``tie_answer`` the
        word embedding ``E (V, d)``: ``read E^T / sqrt(d)`` (unit-variance states and N(0, 1)
        embeddings give logits of unit variance)."""
        if self.answer is not None:
            return self.answer(read)
        return read @ self.embedding.weight.T / math.sqrt(self.embedding.embedding_dim)

    def epoch_end(self, epoch: int, record: dict) -> dict | None:
        """Trainer hook: end the linear start, if any (:func:`_linear_start_epoch_end`)."""
        return _linear_start_epoch_end(
            self, epoch, record, self.config.ls_patience, self.config.ls_max_epochs,
            "softmax back in the self-attention",
        )  # fmt: skip
