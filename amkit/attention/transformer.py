"""Pre-norm Transformer encoder built on :class:`MultiHeadAttention`.

Legend: B batch, T time steps, D d_model, H heads, F feed-forward width.
"""

from __future__ import annotations

from torch import Tensor, nn

from amkit.attention.masks import renamed_valid_keys
from amkit.attention.multihead import MultiHeadAttention
from amkit.errors import UserError


class TransformerEncoderLayer(nn.Module):
    """``x + Attn(LN(x))`` then ``x + FFN(LN(x))`` (pre-norm, Xiong et al. 2020).

    ``attention_dropout`` (default: ``dropout``) drops attention weights; on CPU any value
    above 0 sends training to PyTorch's unfused attention kernel, about 6x slower at
    T = 400, so fast CPU training sets it to 0 and keeps the other dropouts.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int | None = None,
        dropout: float = 0.1,
        attention_dropout: float | None = None,
    ):
        super().__init__()
        d_ff = d_ff or 4 * d_model
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, dropout=attention_dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model)
        )
        self.drop = nn.Dropout(dropout)

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        valid_keys: Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
        attn_bias: Tensor | None = None,
        key_transform: nn.Module | None = None,
        linear: bool = False,
        key_padding_mask: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """``x (B, T, D)``; masks, ``attn_bias`` (float, added to the attention scores,
        broadcastable to ``(B, H, T, T)``) and ``linear`` (no softmax: MemN2N's linear start)
        as :class:`MultiHeadAttention` takes them; ``key_transform`` (D -> D) maps the normed
        input before the key projection only (a Universal Transformer's per-step keys)."""
        valid_keys = renamed_valid_keys(valid_keys, key_padding_mask, "TransformerEncoderLayer")
        h = self.norm1(x)
        attended, weights = self.attn(
            h,
            h if key_transform is None else key_transform(h),
            h,
            mask=mask,
            valid_keys=valid_keys,
            is_causal=is_causal,
            need_weights=need_weights,
            attn_bias=attn_bias,
            linear=linear,
        )  # (B, T, D), (B, H, T, T)
        x = x + self.drop(attended)
        x = x + self.drop(self.ff(self.norm2(x)))
        return x, weights


class TransformerEncoder(nn.Module):
    """A stack of pre-norm layers with a final LayerNorm.

    ``forward(x, ...)`` returns ``(output (B, T, D), weights)`` where ``weights`` is a list
    with one ``(B, H, T, T)`` tensor per layer when ``need_weights=True``, else ``None``.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_layers: int,
        d_ff: int | None = None,
        dropout: float = 0.1,
        attention_dropout: float | None = None,
    ):
        super().__init__()
        if n_layers < 1:
            raise UserError(f"n_layers must be >= 1, got {n_layers}")
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(d_model, n_heads, d_ff, dropout, attention_dropout)
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        valid_keys: Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
        key_padding_mask: Tensor | None = None,
    ) -> tuple[Tensor, list[Tensor] | None]:
        valid_keys = renamed_valid_keys(valid_keys, key_padding_mask, "TransformerEncoder")
        all_weights: list[Tensor] = []
        for layer in self.layers:
            x, weights = layer(x, mask, valid_keys, is_causal, need_weights)
            if weights is not None:
                all_weights.append(weights)
        return self.norm(x), (all_weights if need_weights else None)
