"""Explanations from a trained run: attention over a story's sentences per hop, over a
text's tokens, a translation's alignment, a recommendation's reasons -- as text, HTML and
PNG heat maps."""

from amkit.explain.alignment import AlignmentExplanation, explain_translation
from amkit.explain.heatmap import save_heatmap
from amkit.explain.memory import StoryExplanation, explain_story
from amkit.explain.recommend import UserRecommendations, recommend
from amkit.explain.text import TextExplanation, explain_text

__all__ = [
    "AlignmentExplanation",
    "StoryExplanation",
    "TextExplanation",
    "UserRecommendations",
    "explain_story",
    "explain_text",
    "explain_translation",
    "recommend",
    "save_heatmap",
]
