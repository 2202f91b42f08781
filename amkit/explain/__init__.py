"""Explanations from a trained run: attention over a story's sentences per hop, over a
text's tokens or an image's positions, a translation's alignment, a recommendation's reasons,
a forecast's patches and retrieved windows, a graph answer's hops, a spoken digit's frames
-- as text, HTML and PNG heat maps. Each is registered in :data:`EXPLAINERS` for a task or a
model, which ``amkit explain`` looks a run up in."""

from amkit.explain.alignment import AlignmentExplanation, explain_translation
from amkit.explain.audio import SpeechExplanation, classify_wav, explain_clip, speech_features
from amkit.explain.forecast import explain_forecast_run, save_forecast_plot
from amkit.explain.graph import GraphAnswer, ask, explain_graph_run
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
    "GraphAnswer",
    "SpeechExplanation",
    "ImageExplanation",
    "Explainer",
    "StoryExplanation",
    "TextExplanation",
    "UserRecommendations",
    "ask",
    "explain_graph_run",
    "classify_wav",
    "explain_clip",
    "explain_image",
    "explain_recall_example",
    "explain_forecast_run",
    "explain_story",
    "explain_text",
    "explain_translation",
    "explainer_for",
    "recommend",
    "register_explainer",
    "run_kind",
    "save_forecast_plot",
    "save_heatmap",
    "speech_features",
]
