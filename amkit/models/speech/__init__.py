"""Speech classifiers over log-mel frames, one family per module; each returns its attention
over the input frames ``(B, T)`` (and the Transformer its self-attention per layer and head)
when called with ``need_weights=True``."""

from amkit.models.speech.gru_attention import GRUAttention, GRUAttentionConfig, GRUAttentionOutput
from amkit.models.speech.transformer import (
    SpeechTransformer,
    SpeechTransformerConfig,
    SpeechTransformerOutput,
)

__all__ = [
    "GRUAttention",
    "GRUAttentionConfig",
    "GRUAttentionOutput",
    "SpeechTransformer",
    "SpeechTransformerConfig",
    "SpeechTransformerOutput",
]
