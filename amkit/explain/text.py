"""Explain a text classifier's decision on one text: an HTML page and a PNG heat map.

    amkit explain RUN_DIR --text "A superb, moving film."

The run directory's ``vocab.json`` and ``labels.json`` (and ``phrases.json``, when the run
linked multi-word names) turn the text into ids exactly as in training; no dataset is read.
Each token is shaded by how much it counted for the pooled vector (the output's ``tokens``);
with ``knowledge: knowledge_attention`` each token also lists the WordNet concepts it
attended to and the weight left on the "no knowledge" sentinel; with a gated fusion the gate
is shown.

Legend: T tokens, E facts per token.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from amkit.data.text import Vocabulary, head_tail, load_phrase_linker, text_tokens
from amkit.errors import UserError
from amkit.experiments.loading import load
from amkit.explain.heatmap import plt
from amkit.explain.registry import ExplainRequest, register_explainer
from amkit.io import atomic_save_figure, atomic_write_text
from amkit.textfile import read_json
from amkit.train.device import model_device


@dataclass
class TokenView:
    token: str
    weight: float  # share of the pooled vector, sums to 1 over the text
    facts: list[tuple[str, float]] = field(default_factory=list)  # (concept, weight)
    no_knowledge: float | None = None  # the sentinel's weight
    gate: float | None = None  # mean fusion gate: 1 = the token's own embedding


@dataclass
class TextExplanation:
    """What :func:`explain_text` found: the predicted label, each class's probability, each
    token's weight (and knowledge), and the HTML page and PNG it wrote."""

    label: str
    probabilities: dict[str, float]
    tokens: list[TokenView]
    html: Path
    png: Path


def load_text_model(
    run_dir: str | Path, device: str = "cpu"
) -> tuple[nn.Module, Vocabulary, list[str], Any]:
    """``(model, vocabulary, label names, data config)`` of a text-classification run (the
    data config says how texts were tokenized: ``max_len``, ``ngrams``), loaded with
    :func:`amkit.load` onto ``device``: no dataset is read."""
    run_dir = Path(run_dir)
    for name in ("config.yaml", "vocab.json", "labels.json", "model.safetensors"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(
                f"{run_dir / name} is missing: --text needs a text-classification run "
                "directory (trained with a text dataset)"
            )
    run = load(run_dir, device=device)
    labels = run.info.label_names or read_json(run_dir / "labels.json", list)
    return run.model, Vocabulary(run.info.vocab), list(labels), run.config.data.config


@torch.no_grad()
def token_views(
    model: nn.Module, vocab: Vocabulary, labels: list[str], data: Any, run_dir: str | Path,
    text: str,
) -> tuple[str, dict[str, float], list[TokenView]]:  # fmt: skip
    """``(predicted label, probability per label, one view per token)`` of ``text`` for a
    loaded text classifier (:func:`load_text_model`), on the model's device; writes nothing."""
    if not text.strip():
        raise UserError("--text is empty: give the text to classify")
    phrases = load_phrase_linker(run_dir, required=data.phrases is not None)
    words = head_tail(text_tokens(text, data.ngrams, phrases), data.max_len)
    if not words:
        raise UserError(f"no word in {text!r}: the tokenizer keeps letters, digits, ! and ?")
    ids = torch.tensor([vocab.encode(words)], device=model_device(model))  # (1, T)
    out = model(ids, need_weights=True)
    probabilities = out.logits.float().softmax(-1)[0].tolist()
    weights = out.tokens[0].tolist()  # (T,)
    views = [TokenView(w, weights[i]) for i, w in enumerate(words)]
    if out.knowledge is not None:
        read = out.knowledge[0].float().cpu()  # (T, E + 1)
        fact_ids = model.knowledge_table[ids[0]].cpu()  # (T, E)
        for i, view in enumerate(views):
            view.no_knowledge = float(read[i, -1])
            view.facts = [
                (model.concept_names[int(f)], float(read[i, j]))
                for j, f in enumerate(fact_ids[i].tolist())
                if f != 0
            ]
    if out.gate is not None:
        for i, view in enumerate(views):
            view.gate = float(out.gate[0, i])
    label = labels[int(np.argmax(probabilities))]
    return label, dict(zip(labels, probabilities, strict=True)), views


def explain_text(
    run_dir: str | Path, text: str, out_dir: str | Path, device: str = "cpu"
) -> TextExplanation:
    """Classify ``text`` with the run's model and write ``explain.html`` and ``explain.png``
    into ``out_dir``."""
    if not text.strip():
        raise UserError("--text is empty: give the text to classify")
    model, vocab, labels, data = load_text_model(run_dir, device)
    label, probs, views = token_views(model, vocab, labels, data, run_dir, text)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "explain.html"
    atomic_write_text(page, render_html(text, label, probs, views))
    png = save_text_heatmap(views, out_dir / "explain.png", f"predicted: {label}")
    return TextExplanation(label, probs, views, page, png)


def render_html(text: str, label: str, probabilities: dict[str, float], views: list[TokenView]
                ) -> str:  # fmt: skip
    """A standalone page: tokens shaded by weight, then the knowledge each one read."""
    top = max(v.weight for v in views) or 1.0
    spans = []
    for v in views:
        tip = f"weight {v.weight:.3f}" + (f", gate {v.gate:.2f}" if v.gate is not None else "")
        alpha = v.weight / top
        spans.append(
            f'<span class="tok" style="background: rgba(255, 140, 0, {alpha:.3f})" '
            f'title="{tip}">{html.escape(v.token)}</span>'
        )
    rows = []
    for v in sorted((v for v in views if v.facts), key=lambda v: -v.weight):
        facts = ", ".join(f"{html.escape(name)} ({w:.2f})" for name, w in v.facts)
        rows.append(
            f"<tr><td>{html.escape(v.token)}</td><td>{v.weight:.3f}</td><td>{facts}</td>"
            f"<td>{v.no_knowledge:.2f}</td></tr>"
        )
    knowledge = (
        "<h2>Knowledge read by each token</h2><table><tr><th>token</th><th>weight</th>"
        "<th>facts attended (weight)</th><th>no knowledge</th></tr>" + "".join(rows) + "</table>"
        if rows
        else ""
    )
    probs = ", ".join(f"{html.escape(k)} {p:.3f}" for k, p in probabilities.items())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>amkit explain</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.9}"
        ".tok{padding:2px 3px;margin:1px;border-radius:3px}"
        "td,th{padding:2px 8px;text-align:left}</style></head><body>"
        f"<h1>Predicted: {html.escape(label)}</h1><p>Probabilities: {probs}</p>"
        f"<h2>Tokens by attention weight</h2><p>{' '.join(spans)}</p>{knowledge}"
        f"<h2>Input</h2><p>{html.escape(text)}</p></body></html>\n"
    )


def save_text_heatmap(views: list[TokenView], path: Path, title: str, per_row: int = 12) -> Path:
    """Tokens in rows of ``per_row`` cells, each cell coloured by its weight."""
    n_rows = -(-len(views) // per_row)
    grid = np.full((n_rows, per_row), np.nan)
    for i, v in enumerate(views):
        grid[i // per_row, i % per_row] = v.weight
    fig, ax = plt.subplots(figsize=(per_row * 0.9 + 1.5, 0.45 * n_rows + 1.4), layout="constrained")
    image = ax.imshow(grid, cmap="Oranges", aspect="auto", vmin=0.0, vmax=np.nanmax(grid))
    for i, v in enumerate(views):
        ax.text(i % per_row, i // per_row, v.token[:10], ha="center", va="center", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return atomic_save_figure(fig, path, dpi=110)


@register_explainer("classification", takes="text")
def explain_text_run(request: ExplainRequest) -> str:
    """``amkit explain RUN_DIR --text "..."``: :func:`explain_text`, reported as the predicted
    label, the ten tokens that counted most and the files written."""
    result = explain_text(request.run_dir, request.text, request.out, request.device)
    probs = ", ".join(f"{k} {p:.3f}" for k, p in result.probabilities.items())
    ranked = sorted(result.tokens, key=lambda v: -v.weight)[:10]
    return (
        f"predicted: {result.label} ({probs})\n"
        "top tokens: " + ", ".join(f"{v.token} {v.weight:.3f}" for v in ranked) + "\n"
        f"HTML: {result.html}\nheat map: {result.png}"
    )
