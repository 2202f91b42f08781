"""Explanations from a trained run: attention over a story's sentences per hop, over a
text's tokens or an image's positions, a translation's alignment, a recommendation's
reasons -- as text, HTML and PNG heat maps. Each is registered in :data:`EXPLAINERS` for
a task or a model, which ``amkit explain`` looks a run up in."""

from amkit.explain.alignment import AlignmentExplanation, explain_translation
from amkit.explain.heatmap import save_heatmap
from amkit.explain.image import ImageExplanation, explain_image
from amkit.explain.memory import StoryExplanation, explain_story
from amkit.explain.recall import explain_recall_example
from amkit.explain.recommend import UserRecommendations, recommend
from amkit.explain.registry import (
    EXPLAINERS,
    Explainer,
    ExplainRequest,
    explainer_for,
    register_explainer,
    run_kind,
)
from amkit.explain.text import TextExplanation, explain_text

__all__ = [
    "EXPLAINERS",
    "AlignmentExplanation",
    "ExplainRequest",
    "ImageExplanation",
    "Explainer",
    "StoryExplanation",
    "TextExplanation",
    "UserRecommendations",
    "explain_image",
    "explain_recall_example",
    "explain_story",
    "explain_text",
    "explain_translation",
    "explainer_for",
    "recommend",
    "register_explainer",
    "run_kind",
    "save_heatmap",
]
