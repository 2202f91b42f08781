"""Differentiable Neural Computer (Graves et al. 2016, "Hybrid computing using a neural network
with dynamic external memory", Nature 538).

An LSTM controller reads an ``N x W`` memory matrix through ``R`` read heads and writes to it
through one write head. Every step the controller emits an *interface vector*: read keys and
strengths, a write key and strength, an erase and a write vector, ``R`` free gates, an
allocation gate, a write gate and ``R`` read modes. Addressing mixes

- *content*: ``softmax(beta * cos(key, M[i]))``;
- *allocation*: usage ``u <- (u + w_w - u * w_w) * prod_i (1 - f_i w_r^i)``; the free list
  sorts slots by usage and ``a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i]``;
- *temporal links*: ``L[i, j] <- (1 - w_w[i] - w_w[j]) L[i, j] + w_w[i] p[j]`` (``i`` written
  right after ``j``), precedence ``p <- (1 - sum w_w) p + w_w``; a read head follows them
  forward ``L w_r`` or backward ``L^T w_r``.

The write weights are ``g_w (g_a a + (1 - g_a) c_w)``; memory becomes
``M * (1 - w_w e^T) + w_w v^T``; read weights ``pi_b b + pi_c c + pi_f f``.

Options from the robust DNC of Franke et al. 2018 ("Robust and Scalable Differentiable Neural
Computer for Question Answering", ADNC), all off by default (the paper's DNC):
``controller_norm`` (a layer-normalised LSTM controller), ``interface_norm`` (layer norm of
the interface vector before it is split), ``bypass_dropout`` (dropout on the controller's own
path to the output, so the output has to come from memory reads early in training) and
``links=False`` (their content-based memory unit: no temporal link matrix, so no ``N x N``
state).

Numerical safety (users of other implementations report NaN): cosine similarity with an
epsilon in the norms, usage kept in ``[eps, 1]`` before the free-list product, interface
values clipped to ``[-clip, clip]`` (20, as DeepMind's code), and gates through sigmoids, so
every weighting is a (sub-)distribution: non-negative, summing to at most 1. Gradient
clipping is the trainer's (``train.clip_grad_norm``).

Legend: B batch, T steps, X input width, N memory slots, W word size, R read heads,
Hc controller width.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

EPS = 1e-6


def content_weights(memory: Tensor, keys: Tensor, strengths: Tensor) -> Tensor:
    """``softmax_i(strength * cos(key, memory[i]))``.

    Args:
        memory: ``(B, N, W)``.
        keys: ``(B, R, W)``.
        strengths: ``(B, R)``, >= 1.

    Returns:
        ``(B, R, N)`` distributions over slots.
    """
    similarity = F.normalize(keys, dim=-1, eps=EPS) @ F.normalize(memory, dim=-1, eps=EPS).mT
    return F.softmax(similarity * strengths.unsqueeze(-1), dim=-1)  # (B, R, N)


def update_usage(
    usage: Tensor, write_weights: Tensor, read_weights: Tensor, free_gates: Tensor
) -> Tensor:
    """``(u + w_w - u * w_w) * prod_i (1 - f_i w_r^i)``, all ``(B, N)``; ``read_weights``
    ``(B, R, N)`` and ``free_gates`` ``(B, R)`` are the previous step's reads and this step's
    gates."""
    retention = torch.prod(1 - free_gates.unsqueeze(-1) * read_weights, dim=1)  # (B, N)
    return (usage + write_weights - usage * write_weights) * retention


def allocation_weights(usage: Tensor) -> Tensor:
    """Free-list allocation ``a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i]``.

    ``usage (B, N)`` in ``[0, 1]``; slots sorted by ascending usage (``phi``). Returns
    ``(B, N)``, summing to at most 1, largest on the least-used slot.
    """
    usage = EPS + (1 - EPS) * usage.clamp(0, 1)
    sorted_usage, order = usage.sort(dim=-1)  # (B, N)
    before = torch.cumprod(sorted_usage, dim=-1)
    before = torch.cat([torch.ones_like(before[:, :1]), before[:, :-1]], dim=-1)  # exclusive
    return torch.zeros_like(usage).scatter(-1, order, (1 - sorted_usage) * before)


def update_links(link: Tensor, precedence: Tensor, write_weights: Tensor) -> tuple[Tensor, Tensor]:
    """New temporal link matrix ``(B, N, N)`` (zero diagonal) and precedence ``(B, N)``."""
    w_i = write_weights.unsqueeze(-1)  # (B, N, 1)
    w_j = write_weights.unsqueeze(-2)  # (B, 1, N)
    link = (1 - w_i - w_j) * link + w_i * precedence.unsqueeze(-2)  # (B, N, N)
    link = link * (1 - torch.eye(link.shape[-1], dtype=link.dtype, device=link.device))
    precedence = (1 - write_weights.sum(-1, keepdim=True)) * precedence + write_weights
    return link, precedence


@dataclass
class DNCState:
    """Everything the DNC carries from one step to the next (all zeros at the start)."""

    memory: Tensor  # (B, N, W)
    usage: Tensor  # (B, N)
    link: Tensor  # (B, N, N)
    precedence: Tensor  # (B, N)
    read_weights: Tensor  # (B, R, N)
    write_weights: Tensor  # (B, N)
    reads: Tensor  # (B, R, W)
    hidden: Tensor  # (B, Hc)
    cell: Tensor  # (B, Hc)

    def where(self, keep_new: Tensor, old: DNCState) -> DNCState:
        """This state where ``keep_new (B,)`` is true, ``old`` elsewhere (padding steps)."""
        picked = {}
        for f in fields(self):
            new, previous = getattr(self, f.name), getattr(old, f.name)
            mask = keep_new.view(-1, *([1] * (new.dim() - 1)))
            picked[f.name] = torch.where(mask, new, previous)
        return DNCState(**picked)


@dataclass
class Interface:
    """The controller's interface vector, split and squashed (shapes as in ``DNCState``)."""

    read_keys: Tensor  # (B, R, W)
    read_strengths: Tensor  # (B, R), >= 1
    write_key: Tensor  # (B, 1, W)
    write_strength: Tensor  # (B, 1), >= 1
    erase: Tensor  # (B, W), in (0, 1)
    write_vector: Tensor  # (B, W)
    free_gates: Tensor  # (B, R), in (0, 1)
    allocation_gate: Tensor  # (B, 1)
    write_gate: Tensor  # (B, 1)
    read_modes: Tensor  # (B, R, 3): backward, content, forward; rows sum to 1


def interface_size(word_size: int, read_heads: int) -> int:
    return read_heads * word_size + 3 * word_size + 5 * read_heads + 3


def split_interface(vector: Tensor, word_size: int, read_heads: int) -> Interface:
    """Cut ``vector (B, interface_size)`` into the named parts with their activations."""
    r, w = read_heads, word_size
    sizes = [r * w, r, w, 1, w, w, r, 1, 1, 3 * r]
    parts = vector.split(sizes, dim=-1)
    batch = vector.shape[0]
    return Interface(
        read_keys=parts[0].view(batch, r, w),
        read_strengths=1 + F.softplus(parts[1]),
        write_key=parts[2].view(batch, 1, w),
        write_strength=1 + F.softplus(parts[3]),
        erase=torch.sigmoid(parts[4]),
        write_vector=parts[5],
        free_gates=torch.sigmoid(parts[6]),
        allocation_gate=torch.sigmoid(parts[7]),
        write_gate=torch.sigmoid(parts[8]),
        read_modes=F.softmax(parts[9].view(batch, r, 3), dim=-1),
    )


def memory_step(state: DNCState, io: Interface, links: bool = True) -> DNCState:
    """Write, then read: the memory half of one DNC step (the controller is not touched).

    With ``links=False`` the link matrix and precedence stay as they are (empty) and every
    head reads by content alone, whatever its read modes say.
    """
    usage = update_usage(state.usage, state.write_weights, state.read_weights, io.free_gates)
    allocation = allocation_weights(usage)  # (B, N)
    write_content = content_weights(state.memory, io.write_key, io.write_strength)[:, 0]
    write_weights = io.write_gate * (
        io.allocation_gate * allocation + (1 - io.allocation_gate) * write_content
    )  # (B, N)
    memory = state.memory * (1 - write_weights.unsqueeze(-1) * io.erase.unsqueeze(1))
    memory = memory + write_weights.unsqueeze(-1) * io.write_vector.unsqueeze(1)  # (B, N, W)
    read_content = content_weights(memory, io.read_keys, io.read_strengths)
    if links:
        link, precedence = update_links(state.link, state.precedence, write_weights)
        forward = state.read_weights @ link.mT  # (B, R, N): (L w_r) per head
        backward = state.read_weights @ link  # (B, R, N): (L^T w_r) per head
        modes = io.read_modes.unsqueeze(-1)  # (B, R, 3, 1)
        read_weights = modes[:, :, 0] * backward + modes[:, :, 1] * read_content
        read_weights = read_weights + modes[:, :, 2] * forward  # (B, R, N)
    else:
        link, precedence, read_weights = state.link, state.precedence, read_content
    reads = read_weights @ memory  # (B, R, W)
    return DNCState(
        memory,
        usage,
        link,
        precedence,
        read_weights,
        write_weights,
        reads,
        state.hidden,
        state.cell,
    )


class LayerNormLSTMCell(nn.Module):
    """An LSTM cell with layer normalisation (Ba et al. 2016): each gate's pre-activation and
    the cell state are normalised over the hidden units; ``forward(x (B, X), (h, c))``.

    ``i, f, g, o = LN_k(W [x; h] + b)`` per gate ``k``; ``c' = sigmoid(f) c + sigmoid(i)
    tanh(g)``; ``h' = sigmoid(o) tanh(LN_c(c'))``. The forget gate's bias starts at 1.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.gates = nn.Linear(input_size + hidden_size, 4 * hidden_size)
        self.gate_norms = nn.ModuleList(nn.LayerNorm(hidden_size) for _ in range(4))
        self.cell_norm = nn.LayerNorm(hidden_size)
        with torch.no_grad():
            self.gate_norms[1].bias.fill_(1.0)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        hidden, cell = state
        pre = self.gates(torch.cat([x, hidden], dim=-1)).chunk(4, dim=-1)
        i, f, g, o = (norm(part) for norm, part in zip(self.gate_norms, pre, strict=True))
        cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
        hidden = torch.sigmoid(o) * torch.tanh(self.cell_norm(cell))
        return hidden, cell


class DNC(nn.Module):
    """LSTM controller + memory; ``forward(inputs (B, T, X), mask (B, T))``.

    Args:
        input_size: X.
        output_size: width of each step's output ``y_t``.
        hidden_size: controller LSTM width (paper, bAbI: 256).
        memory_slots: N (paper, bAbI: 256).
        word_size: W (paper, bAbI: 64).
        read_heads: R (paper, bAbI: 4).
        clip: interface values are clipped to ``[-clip, clip]``.
        controller_norm: a layer-normalised LSTM controller (ADNC).
        interface_norm: layer norm of the interface vector (ADNC's "DNC normalisation").
        bypass_dropout: dropout probability on the controller output's path to ``y_t``
            (training only; ADNC drops 10 %).
        links: keep the temporal link matrix; ``False`` reads by content only (ADNC's
            content-based memory unit) and never builds the ``N x N`` links.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int = 256,
        memory_slots: int = 256,
        word_size: int = 64,
        read_heads: int = 4,
        clip: float = 20.0,
        controller_norm: bool = False,
        interface_norm: bool = False,
        bypass_dropout: float = 0.0,
        links: bool = True,
    ):
        super().__init__()
        self.memory_slots, self.word_size, self.read_heads = memory_slots, word_size, read_heads
        self.clip, self.links = clip, links
        controller = LayerNormLSTMCell if controller_norm else nn.LSTMCell
        self.controller = controller(input_size + read_heads * word_size, hidden_size)
        size = interface_size(word_size, read_heads)
        self.interface = nn.Linear(hidden_size, size)
        self.interface_norm = nn.LayerNorm(size) if interface_norm else nn.Identity()
        self.bypass = nn.Dropout(bypass_dropout)
        self.output = nn.Linear(hidden_size + read_heads * word_size, output_size)

    def initial_state(self, batch: int, device=None, dtype=torch.float32) -> DNCState:
        n, w, r = self.memory_slots, self.word_size, self.read_heads
        hc = self.controller.hidden_size

        def zeros(*shape):
            return torch.zeros(batch, *shape, device=device, dtype=dtype)

        return DNCState(
            zeros(n, w),
            zeros(n),
            zeros(n, n) if self.links else zeros(0, 0),  # no links: no N x N state
            zeros(n),
            zeros(r, n),
            zeros(n),
            zeros(r, w),
            zeros(hc),
            zeros(hc),
        )

    def step(self, x: Tensor, state: DNCState) -> tuple[Tensor, DNCState, Interface]:
        """One time step: ``x (B, X)`` -> output ``(B, output_size)``, new state."""
        controller_in = torch.cat([x, state.reads.flatten(1)], dim=-1)
        hidden, cell = self.controller(controller_in, (state.hidden, state.cell))
        vector = self.interface_norm(self.interface(hidden)).clamp(-self.clip, self.clip)
        io = split_interface(vector, self.word_size, self.read_heads)
        state = memory_step(state, io, self.links)
        state.hidden, state.cell = hidden, cell
        out = self.output(torch.cat([self.bypass(hidden), state.reads.flatten(1)], dim=-1))
        return out, state, io

    def forward(
        self, inputs: Tensor, mask: Tensor | None = None, need_weights: bool = False
    ) -> tuple[Tensor, DNCState, dict[str, Tensor]]:
        """Run over ``inputs (B, T, X)``; a step where ``mask (B, T)`` is false changes nothing.

        Returns:
            outputs ``(B, T, output_size)`` (zeros at masked steps), the final state, and with
            ``need_weights``: ``write`` ``(B, T, N)``, ``read`` ``(B, T, R, N)``,
            ``allocation_gate`` and ``write_gate`` ``(B, T)``.
        """
        batch, steps = inputs.shape[:2]
        state = self.initial_state(batch, inputs.device, inputs.dtype)
        outputs, writes, reads, alloc_gates, write_gates = [], [], [], [], []
        # the steps where some example is padding; where every example is real (most steps,
        # with batches bucketed by length) masking would change nothing: skipped, ~10 % of a step
        padded = [False] * steps if mask is None else (~mask.all(0)).tolist()
        for t in range(steps):
            out, new_state, io = self.step(inputs[:, t], state)
            if padded[t]:
                new_state = new_state.where(mask[:, t], state)
                out = out * mask[:, t, None]
            state = new_state
            outputs.append(out)
            if need_weights:
                writes.append(state.write_weights)
                reads.append(state.read_weights)
                alloc_gates.append(io.allocation_gate[:, 0])
                write_gates.append(io.write_gate[:, 0])
        weights = {}
        if need_weights:
            weights = {
                "write": torch.stack(writes, 1),
                "read": torch.stack(reads, 1),
                "allocation_gate": torch.stack(alloc_gates, 1),
                "write_gate": torch.stack(write_gates, 1),
            }
        return torch.stack(outputs, 1), state, weights
