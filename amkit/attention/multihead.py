"""Multi-head attention with a fused fast path and per-head weights on request.

Without ``need_weights`` the block runs ``torch.nn.functional.scaled_dot_product_attention``
(SDPA); with it, an explicit matmul-softmax-matmul path that returns per-head weights
``(B, H, T, S)``. Both give the same output to float tolerance.

Masks follow amkit's convention (``True`` = may attend), including ``valid_keys``
``(B, S)`` where ``True`` marks a **real** key -- the opposite of
``torch.nn.MultiheadAttention``. :meth:`MultiHeadAttention.from_torch` /
:meth:`MultiHeadAttention.to_torch` move weights between the two; convert torch-style masks
with :func:`amkit.attention.masks.from_torch_mask`.

Legend: B batch, T query length, S key length, D d_model, H heads, Dh = D / H.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amkit.attention.masks import masked_softmax, merge_masks, renamed_valid_keys
from amkit.errors import UserError


class MultiHeadAttention(nn.Module):
    """Batch-first multi-head attention (Vaswani et al. 2017).

    Args:
        d_model: model width D (query width and output width).
        n_heads: number of heads H; must divide ``d_model``.
        dropout: dropout on attention weights (training only).
        bias: add biases to the input and output projections.
        kdim: key width (defaults to ``d_model``).
        vdim: value width (defaults to ``d_model``).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
    ):
        super().__init__()
        if d_model <= 0 or n_heads <= 0:
            raise UserError(f"d_model ({d_model}) and n_heads ({n_heads}) must be positive")
        if d_model % n_heads != 0:
            divisors = [h for h in range(1, min(d_model, 64) + 1) if d_model % h == 0]
            near = sorted(divisors, key=lambda h: abs(h - n_heads))[:2]
            raise UserError(
                f"d_model ({d_model}) must be divisible by n_heads ({n_heads}); "
                f"try n_heads={' or '.join(map(str, sorted(near)))}"
            )
        if not 0.0 <= dropout < 1.0:
            raise UserError(f"dropout must be in [0, 1), got {dropout}")
        self.d_model = d_model
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.kdim = kdim or d_model
        self.vdim = vdim or d_model
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(self.kdim, d_model, bias=bias)
        self.v_proj = nn.Linear(self.vdim, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, Dh)

    def project_kv(self, key: Tensor, value: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``key (B, S, kdim)``, ``value (B, S, vdim)`` (default ``key``) projected and split
        into heads ``(B, H, S, Dh)`` each: pass them as ``forward(..., kv=...)`` to attend to
        the same keys many times (a decoder's source, or its growing key/value cache)."""
        value = key if value is None else value
        return self._split_heads(self.k_proj(key)), self._split_heads(self.v_proj(value))

    def forward(
        self,
        query: Tensor,
        key: Tensor | None = None,
        value: Tensor | None = None,
        mask: Tensor | None = None,
        valid_keys: Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
        kv: tuple[Tensor, Tensor] | None = None,
        attn_bias: Tensor | None = None,
        linear: bool = False,
        key_padding_mask: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value``.

        Args:
            query: ``(B, T, D)``.
            key: ``(B, S, kdim)``; defaults to ``query`` (self-attention).
            value: ``(B, S, vdim)``; defaults to ``key``.
            mask: bool ``(T, S)``, ``(B, T, S)`` or ``(B, H, T, S)``; ``True`` = may attend.
            valid_keys: bool ``(B, S)``; ``True`` = real key.
            is_causal: query ``i`` attends keys ``j <= i`` only (top-left aligned).
            need_weights: also return per-head weights ``(B, H, T, S)``.
            kv: keys and values already projected (:meth:`project_kv`), ``(B, H, S, Dh)``
                each, instead of ``key`` and ``value``.
            attn_bias: float, broadcastable to ``(B, H, T, S)``: added to the scaled scores
                before the softmax (a relative-position bias, Shaw et al. 2018 / T5); masked
                keys stay at weight 0 whatever their bias.
            linear: no softmax: the weights are the scaled scores themselves, masked keys 0
                (MemN2N's linear start, Sukhbaatar et al. 2015, which a model turns on for
                its first phase); always the explicit path.
            key_padding_mask: the old name of ``valid_keys`` (a ``FutureWarning``; it meant
                the opposite in ``torch.nn.MultiheadAttention``).

        Returns:
            ``(output (B, T, D), weights (B, H, T, S) or None)``.
        """
        valid_keys = renamed_valid_keys(valid_keys, key_padding_mask, "MultiHeadAttention")
        if kv is not None:
            return self._attend(
                query, *kv, mask, valid_keys, is_causal, need_weights, attn_bias, linear
            )
        key = query if key is None else key
        value = key if value is None else value
        if query.dim() != 3 or key.dim() != 3 or value.dim() != 3:
            raise UserError(
                "MultiHeadAttention is batch-first: expected query (B, T, D), key (B, S, kdim), "
                f"value (B, S, vdim); got {tuple(query.shape)}, {tuple(key.shape)}, "
                f"{tuple(value.shape)}"
            )
        if query.shape[-1] != self.d_model:
            raise UserError(f"query width {query.shape[-1]} != d_model {self.d_model}")
        if key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise UserError(
                f"key width {key.shape[-1]} must be kdim ({self.kdim}) and value width "
                f"{value.shape[-1]} must be vdim ({self.vdim})"
            )
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise UserError(
                f"query {tuple(query.shape)}, key {tuple(key.shape)} and value "
                f"{tuple(value.shape)} must share B, and key and value (B, S)"
            )
        k, v = self.project_kv(key, value)  # (B, H, S, Dh) each
        return self._attend(
            query, k, v, mask, valid_keys, is_causal, need_weights, attn_bias, linear
        )

    def _attend(
        self, query: Tensor, k: Tensor, v: Tensor, mask, valid_keys, is_causal: bool,
        need_weights: bool, attn_bias: Tensor | None = None, linear: bool = False,
    ) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        """``query (B, T, D)`` against projected ``k``, ``v`` ``(B, H, S, Dh)``."""
        if query.dim() != 3 or query.shape[-1] != self.d_model:
            raise UserError(f"query must be (B, T, {self.d_model}), got {tuple(query.shape)}")
        b, t, _ = query.shape
        s = k.shape[2]
        q = self._split_heads(self.q_proj(query))  # (B, H, T, Dh)
        dropout_p = self.dropout if self.training else 0.0

        if attn_bias is not None and attn_bias.dim() != 4:
            raise UserError(
                "attn_bias must have 4 dims, broadcastable to (B, H, T, S); got "
                f"{tuple(attn_bias.shape)}"
            )
        plain_causal = is_causal and mask is None and valid_keys is None and attn_bias is None
        merged = (
            None
            if plain_causal
            else merge_masks(mask, valid_keys, is_causal, b, t, s, query.device)
        )  # (B|1, H|1, T, S) or None

        if need_weights or linear:
            scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))  # (B, H, T, S)
            if attn_bias is not None:
                scores = scores + attn_bias
            if plain_causal:
                merged = merge_masks(None, None, True, b, t, s, query.device)
            if linear:
                weights = scores if merged is None else scores.masked_fill(~merged, 0.0)
            else:
                weights = masked_softmax(scores, merged)  # (B, H, T, S)
            dropped = F.dropout(weights, p=dropout_p) if dropout_p > 0 else weights
            context = dropped @ v  # (B, H, T, Dh)
            weights = weights if need_weights else None
        else:
            weights = None
            row_any = None
            if merged is not None:
                row_any = merged.any(dim=-1, keepdim=True)  # (B|1, H|1, T, 1)
                if bool(row_any.all()):
                    row_any = None
                else:  # rows with no allowed key: let SDPA see all keys, zero them after
                    merged = merged | ~row_any
            if attn_bias is not None:  # one float mask: the bias, -inf where not allowed
                merged = (
                    attn_bias if merged is None else torch.where(merged, attn_bias, float("-inf"))
                )
            context = _sdpa(q, k, v, merged, dropout_p, plain_causal)  # (B, H, T, Dh)
            if row_any is not None:
                context = context * row_any
        context = context.transpose(1, 2).reshape(b, t, self.d_model)  # (B, T, D)
        return self.out_proj(context), weights

    # ----------------------------------------------------------------- torch interop
    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """Build an equivalent block from a ``torch.nn.MultiheadAttention``.

        Its masks must then be given in amkit's convention (``True`` = may attend); see
        :func:`amkit.attention.masks.from_torch_mask`.
        """
        if mha.bias_k is not None or mha.add_zero_attn:
            raise UserError("add_bias_kv and add_zero_attn are not supported")
        block = cls(
            mha.embed_dim,
            mha.num_heads,
            dropout=mha.dropout,
            bias=mha.in_proj_bias is not None,
            kdim=mha.kdim,
            vdim=mha.vdim,
        ).to(device=mha.out_proj.weight.device, dtype=mha.out_proj.weight.dtype)
        block.load_torch_state_dict(mha.state_dict())
        return block

    def load_torch_state_dict(self, state: dict[str, Tensor]) -> None:
        """Copy weights from a ``torch.nn.MultiheadAttention`` state dict."""
        d = self.d_model
        if "in_proj_weight" in state:
            wq, wk, wv = state["in_proj_weight"].split(d, dim=0)
        else:
            wq, wk, wv = (state[f"{n}_proj_weight"] for n in ("q", "k", "v"))
        new = {"q_proj.weight": wq, "k_proj.weight": wk, "v_proj.weight": wv}
        new["out_proj.weight"] = state["out_proj.weight"]
        if state.get("in_proj_bias") is not None:
            bq, bk, bv = state["in_proj_bias"].split(d, dim=0)
            new.update({"q_proj.bias": bq, "k_proj.bias": bk, "v_proj.bias": bv})
            new["out_proj.bias"] = state["out_proj.bias"]
        self.load_state_dict(new)

    def to_torch(self) -> nn.MultiheadAttention:
        """Export to an equivalent ``torch.nn.MultiheadAttention`` (batch_first=True).

        Remember its masks mean the opposite: ``True`` = ignore.
        """
        bias = self.q_proj.bias is not None
        mha = nn.MultiheadAttention(
            self.d_model,
            self.n_heads,
            dropout=self.dropout,
            bias=bias,
            kdim=self.kdim,
            vdim=self.vdim,
            batch_first=True,
            device=self.out_proj.weight.device,
            dtype=self.out_proj.weight.dtype,
        )
        state: dict[str, Tensor] = {"out_proj.weight": self.out_proj.weight.detach().clone()}
        weights = [p.weight.detach() for p in (self.q_proj, self.k_proj, self.v_proj)]
        if mha._qkv_same_embed_dim:
            state["in_proj_weight"] = torch.cat(weights, dim=0)
        else:
            for name, w in zip(("q", "k", "v"), weights, strict=True):
                state[f"{name}_proj_weight"] = w.clone()
        if bias:
            biases = [p.bias.detach() for p in (self.q_proj, self.k_proj, self.v_proj)]
            state["in_proj_bias"] = torch.cat(biases, dim=0)
            state["out_proj.bias"] = self.out_proj.bias.detach().clone()
        mha.load_state_dict(state)
        return mha


def _sdpa(q: Tensor, k: Tensor, v: Tensor, mask, dropout_p: float, is_causal: bool) -> Tensor:
    """Fused attention ``(B, H, T, Dh)``. Under CPU bfloat16 autocast it runs in float32:
    torch's CPU kernel is ~3x slower backward in bfloat16 (torch 2.13), and the products
    it saves are small next to the projections around it. A float ``mask`` (an attention
    bias) is cast to the dtype the kernel computes in, as it requires."""
    autocast = q.device.type == "cpu" and torch.is_autocast_enabled("cpu")
    if mask is not None and mask.is_floating_point():
        mask = mask.float() if autocast else mask.to(q.dtype)
    if autocast:
        with torch.autocast("cpu", enabled=False):
            out = F.scaled_dot_product_attention(
                q.float(), k.float(), v.float(), attn_mask=mask, dropout_p=dropout_p,
                is_causal=is_causal,
            )  # fmt: skip
        return out.to(q.dtype)
    return F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal
    )
