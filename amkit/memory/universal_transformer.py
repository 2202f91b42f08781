"""Universal Transformer encoder with adaptive computation time (Dehghani et al. 2019,
"Universal Transformers", ICLR).

One pre-norm Transformer layer (:class:`amkit.attention.transformer.TransformerEncoderLayer`)
is applied again and again, its weights shared across steps. Before each step a coordinate
embedding is added: the embedding of the position plus the embedding of the step number,
both the fixed sinusoids of the paper (``coordinates="sinusoidal"``; Section 2.1 writes
``sin``/``cos`` of ``pos / 10000^(2j/d)`` interleaved, computed here as tensor2tensor, the
authors' code, does: sines then cosines, timescales geometric from 1 to 10^4) or learned
tables (``coordinates="learned"``).

With ACT (Graves 2016, as the UT paper applies it per position) each position ``i`` emits a
halting probability ``p_t[i] = sigmoid(w . x_t[i] + b)`` per step and stops once the sum
would cross ``threshold = 1 - eps``; its last step gets the *remainder* ``1 - sum`` instead.
A position's output is the halting-weighted mix of its states, updated as
``y <- u_t * x_t + (1 - u_t) * y`` with ``u_t`` that step's weight (the UT/tensor2tensor
recurrence), and the *ponder cost* ``N + R`` (steps + remainder) is what the task model
adds to its loss (times ``act_loss_weight``). Halted positions still take part as keys;
their own states stop changing.

Without ACT the block is the stack ``x <- layer(x + coordinates_t)`` for ``max_steps``
steps, a test checks that.

``relative_distance > 0`` adds what the paper does not have: a learned bias per head and
clipped distance ``clip(pos_j - pos_i, -R, R)`` to the attention scores (Shaw et al. 2018;
T5's bias without its log buckets), shared by all steps like the layer, zero at the start.
With it "attend to the sentence before" is one number per head instead of something the
queries and keys must learn from the sinusoids. (On bAbI 10k task 11 it did not help; a
warm-up learning-rate schedule did: docs/memory.md.)

Legend: B batch, T positions, D width, H heads, K steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from amkit.attention.masks import renamed_valid_keys
from amkit.attention.transformer import TransformerEncoderLayer
from amkit.errors import UserError


def timing_signal(length: int, dim: int) -> Tensor:
    """``(length, dim)`` sinusoids of the positions ``0..length-1`` (the Transformer's and
    the UT's coordinate embedding, tensor2tensor's layout): ``dim // 2`` timescales from 1 to
    10^4 in geometric steps, the sines in the first half, the cosines in the second, a zero
    column when ``dim`` is odd."""
    half = dim // 2
    log_step = math.log(1e4) / max(half - 1, 1)
    inverse = torch.exp(torch.arange(half, dtype=torch.float32) * -log_step)  # (dim/2,)
    angles = torch.arange(length, dtype=torch.float32)[:, None] * inverse[None]  # (L, dim/2)
    signal = torch.cat([angles.sin(), angles.cos()], dim=1)  # (L, 2 * (dim/2))
    return torch.nn.functional.pad(signal, (0, dim % 2))


def set_identity(linear: nn.Linear) -> nn.Linear:
    """Make a square ``linear`` map the identity (weight ``I``, bias 0); returns it."""
    with torch.no_grad():
        linear.weight.copy_(torch.eye(linear.in_features))
        linear.bias.zero_()
    return linear


@dataclass
class UTOutput:
    """What the encoder returns.

    Attributes:
        states: ``(B, T, D)`` final states (after the final LayerNorm).
        ponder_cost: ``(B,)`` mean over real positions of steps + remainder (0 without ACT).
        steps: ``(B, T)`` steps each position took.
        halting: ``(B, K, T)`` the halting weight of each step (sums to 1 over K with ACT);
            with ``need_weights``.
        attention: ``(B, K, H, T, T)`` attention of each step; with ``need_weights``.
    """

    states: Tensor
    ponder_cost: Tensor
    steps: Tensor
    halting: Tensor | None = None
    attention: Tensor | None = None


class UniversalTransformer(nn.Module):
    """Weight-shared Transformer steps with optional ACT halting.

    Args:
        d_model: D.
        n_heads: H.
        max_positions: longest input.
        max_steps: K, the most steps (UT paper, bAbI: 8 with ACT).
        act: adaptive computation time; ``False`` runs all ``max_steps``.
        threshold: halting threshold ``1 - eps`` (paper: eps = 0.01).
        d_ff, dropout: of the shared layer.
        coordinates: ``sinusoidal`` (the paper's fixed timing signals) or ``learned``
            position and step tables.
        relative_distance: R; above 0, a learned per-head bias of the clipped position
            difference is added to the attention scores (not in the paper).
        update: ``all`` (the paper) or ``last``: only the last position (a question) changes
            from step to step; the others keep their input (plus the step's coordinates)
            and serve as keys and values only, as MemN2N's memories do for its query.
        per_step: what each step has of its own (not in the paper, whose steps share
            everything: ``none``): ``keys``, a D x D map before the shared key projection,
            identity at the start (so the model starts as the shared one); ``layer``, a
            whole layer per step (a Transformer with ACT, no weight sharing). Neither gets
            the UT past bAbI 10k task 16 (docs/memory.md).
        block: ``transformer`` (the paper: pre-norm attention and feed-forward sublayers)
            or ``attention``: a step is ``x + Attn(x)`` alone, no layer norm or feed-forward
            block inside it, as a MemN2N hop is ``u + o`` (the final norm stays).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        max_positions: int,
        max_steps: int = 8,
        act: bool = True,
        threshold: float = 0.99,
        d_ff: int | None = None,
        dropout: float = 0.1,
        coordinates: str = "sinusoidal",
        relative_distance: int = 0,
        update: str = "all",
        per_step: str = "none",
        block: str = "transformer",
    ):
        super().__init__()
        if block not in ("transformer", "attention"):
            raise UserError(f"block must be transformer or attention, got {block!r}")
        self.block = block
        if update not in ("all", "last"):
            raise UserError(f"update must be all or last, got {update!r}")
        if per_step not in ("none", "keys", "layer"):
            raise UserError(f"per_step must be none, keys or layer, got {per_step!r}")
        self.update, self.per_step = update, per_step
        if relative_distance < 0:
            raise UserError(f"relative_distance must be >= 0, got {relative_distance}")
        if not 0 < threshold <= 1:
            raise UserError(f"threshold must be in (0, 1], got {threshold}")
        if coordinates not in ("sinusoidal", "learned"):
            raise UserError(f"coordinates must be sinusoidal or learned, got {coordinates!r}")
        self.max_steps, self.act, self.threshold = max_steps, act, threshold
        self.layer = TransformerEncoderLayer(d_model, n_heads, d_ff, dropout, attention_dropout=0.0)
        # per_step "layer": steps 1.. get layers of their own (step 0 uses self.layer)
        self.step_layers = nn.ModuleList(
            TransformerEncoderLayer(d_model, n_heads, d_ff, dropout, attention_dropout=0.0)
            for _ in range(max_steps - 1 if per_step == "layer" else 0)
        )
        self.step_keys = nn.ModuleList(set_identity(nn.Linear(d_model, d_model)) for _ in range(
            max_steps if per_step == "keys" else 0
        ))  # fmt: skip
        if coordinates == "learned":
            self.position = nn.Parameter(torch.randn(max_positions, d_model) * 0.02)
            self.timestep = nn.Parameter(torch.randn(max_steps, d_model) * 0.02)
        else:  # fixed: not in the state dict, rebuilt from the sizes
            self.register_buffer("position", timing_signal(max_positions, d_model), False)
            self.register_buffer("timestep", timing_signal(max_steps, d_model), False)
        self.relative_distance = relative_distance
        self.register_parameter("relative_bias", None)
        if relative_distance:  # (2R + 1, H), zero: starts as the model without it
            self.relative_bias = nn.Parameter(torch.zeros(2 * relative_distance + 1, n_heads))
        self.halt = nn.Linear(d_model, 1)
        nn.init.constant_(self.halt.bias, 1.0)  # start by pondering a few steps, as t2t does
        self.norm = nn.LayerNorm(d_model)

    def step_layer(self, step: int) -> TransformerEncoderLayer:
        """The layer step ``step`` (0-based) applies: the shared one, or its own."""
        return self.step_layers[step - 1] if self.step_layers and step else self.layer

    def attention_layers(self) -> list[nn.Module]:
        """Every step's attention module (one when the steps share their layer)."""
        return [self.layer.attn, *(layer.attn for layer in self.step_layers)]

    def coordinates(self, step: int, positions: Tensor) -> Tensor:
        """The embeddings of ``positions`` (``(T,)`` or per row ``(B, T)``) plus the embedding
        of ``step``: ``(T, D)`` or ``(B, T, D)``."""
        return self.position[positions] + self.timestep[step]

    def attention_bias(self, positions: Tensor) -> Tensor | None:
        """The relative-position bias for ``positions`` ``(T,)`` or ``(B, T)``:
        ``(1 | B, H, T, T)``, entry ``[h, i, j]`` the head-``h`` bias of the distance
        ``clip(pos_j - pos_i, -R, R)``; ``None`` without ``relative_distance``."""
        if self.relative_bias is None:
            return None
        rows = positions if positions.dim() == 2 else positions.unsqueeze(0)  # (B|1, T)
        distance = rows.unsqueeze(1) - rows.unsqueeze(2)  # (B|1, T, T): pos_j - pos_i
        limit = self.relative_distance
        index = distance.clamp(-limit, limit) + limit
        return self.relative_bias[index].permute(0, 3, 1, 2)  # (B|1, H, T, T)

    def forward(
        self,
        x: Tensor,
        valid_keys: Tensor | None = None,
        need_weights: bool = False,
        positions: Tensor | None = None,
        linear: bool = False,
        key_padding_mask: Tensor | None = None,
    ) -> UTOutput:
        """``x (B, T, D)``; ``valid_keys (B, T)`` true at real positions; ``positions``
        the position index of each column, ``(T,)`` or per row ``(B, T)`` (default
        ``0..T-1``; a caller that drops padding columns passes the indices the kept ones
        had); ``linear``: every step's self-attention without its softmax, the weights the
        scaled scores (MemN2N's linear start, not in the UT paper). ``key_padding_mask`` is
        the old name of ``valid_keys`` (a ``FutureWarning``)."""
        valid_keys = renamed_valid_keys(valid_keys, key_padding_mask, "UniversalTransformer")
        batch, length, _ = x.shape
        if positions is None:
            positions = torch.arange(length, device=x.device)
        if int(positions.max()) >= self.position.shape[0]:
            raise UserError(
                f"input of {int(positions.max()) + 1} positions; max_positions is "
                f"{self.position.shape[0]}"
            )
        real = valid_keys.to(x.dtype) if valid_keys is not None else x.new_ones(batch, length)
        halting_sum = x.new_zeros(batch, length)
        remainders = x.new_zeros(batch, length)
        steps = x.new_zeros(batch, length)
        halted = real == 0  # padding positions never ponder; their output stays 0
        output = x.new_zeros(x.shape)
        attn_bias = self.attention_bias(positions)
        step_weights, step_attention = [], []
        state = x
        for step in range(self.max_steps):
            state = state + self.coordinates(step, positions)
            if self.act:
                p = torch.sigmoid(self.halt(state)).squeeze(-1)  # (B, T)
                running = (~halted).to(x.dtype)
                if step == self.max_steps - 1:  # the last step halts everything left
                    new_halted = running
                else:
                    new_halted = ((halting_sum + p * running) > self.threshold).to(x.dtype)
                    new_halted = new_halted * running
                running = running - new_halted
                halting_sum = halting_sum + p * running
                remainder = new_halted * (1 - halting_sum)  # (B, T)
                remainders = remainders + remainder
                halting_sum = halting_sum + remainder
                halted = halted | new_halted.bool()
                steps = steps + running + new_halted
                update = p * running + remainder  # this step's share of the output
            key_transform = self.step_keys[step] if self.step_keys else None
            if self.block == "attention":  # x + Attn(x): no norm, no feed-forward
                keys = state if key_transform is None else key_transform(state)
                attended, weights = self.step_layer(step).attn(
                    state,
                    keys,
                    state,
                    valid_keys=valid_keys,
                    need_weights=need_weights,
                    attn_bias=attn_bias,
                    linear=linear,
                )
                state = state + attended
            else:
                state, weights = self.step_layer(step)(
                    state,
                    valid_keys=valid_keys,
                    need_weights=need_weights,
                    attn_bias=attn_bias,
                    key_transform=key_transform,
                    linear=linear,
                )
            if self.update == "last":  # the memories stay as they came in
                state = torch.cat([x[:, :-1], state[:, -1:]], dim=1)
            if self.act:
                output = state * update.unsqueeze(-1) + output * (1 - update.unsqueeze(-1))
                step_weights.append(update)
            else:
                output = state
                steps = steps + 1
            if need_weights:
                step_attention.append(weights)
            if self.act and bool(halted.all()):
                break
        cost = (steps + remainders) * real if self.act else x.new_zeros(batch, length)
        ponder_cost = cost.sum(-1) / real.sum(-1).clamp(min=1)
        result = UTOutput(self.norm(output), ponder_cost, steps)
        if need_weights:
            if step_weights:
                result.halting = torch.stack(step_weights, 1)  # (B, K', T)
            result.attention = torch.stack(step_attention, 1)  # (B, K', H, T, T)
        return result
