"""Image classifiers: a residual CNN with an optional self-attention block (SAGAN or
non-local) and a small vision Transformer; both return their attention over image
positions in an :class:`ImageClassifierOutput` when asked."""

from amkit.models.vision.cnn import ImageClassifierOutput, ImageCNN, ImageCNNConfig
from amkit.models.vision.vit import VisionTransformer, VisionTransformerConfig

__all__ = [
    "ImageCNN",
    "ImageCNNConfig",
    "ImageClassifierOutput",
    "VisionTransformer",
    "VisionTransformerConfig",
]
