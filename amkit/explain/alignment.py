"""Source-target alignment of a translation: which source subwords each output subword read.

``explain_translation(run_dir, text, out_dir)`` translates ``text`` with the run's model and
writes ``alignment.png`` (a heat map: rows = output subwords, columns = source subwords, each
row the decoder's cross-attention, summing to 1) and ``alignment.html`` (the same as a table).

Legend: T output subwords, S source subwords.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import torch

import amkit
from amkit.errors import UserError
from amkit.explain.heatmap import save_heatmap
from amkit.explain.registry import ExplainRequest, register_explainer
from amkit.io import atomic_write_text


@dataclass
class AlignmentExplanation:
    """What :func:`explain_translation` wrote: the translation, the source and output
    subwords, the ``(T, S)`` cross-attention, and the HTML table and PNG heat map."""

    translation: str
    source_pieces: list[str]
    target_pieces: list[str]
    weights: torch.Tensor  # (T, S)
    png: Path
    html: Path


def render_alignment_html(source: list[str], target: list[str], weights, translation: str) -> str:
    head = "".join(f"<th>{html.escape(p)}</th>" for p in source)
    rows = []
    for piece, row in zip(target, weights.tolist(), strict=True):
        cells = "".join(
            f'<td style="background: rgba(30, 100, 220, {w:.3f})" title="{w:.3f}">{w:.2f}</td>'
            for w in row
        )
        rows.append(f"<tr><th>{html.escape(piece)}</th>{cells}</tr>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>amkit alignment</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 6px;"
        "text-align:center;font-size:90%}</style></head><body>"
        f"<h1>{html.escape(translation)}</h1><p>Rows: output subwords; columns: source "
        "subwords; each row is the decoder's attention over the source.</p>"
        f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table></body></html>\n"
    )


def explain_translation(
    run_dir: str | Path,
    text: str,
    out_dir: str | Path,
    beam: int | None = None,
    device: str = "cpu",
) -> AlignmentExplanation:
    """Translate ``text`` with the run in ``run_dir`` (beam ``beam``, default: the run's) and
    write its alignment to ``out_dir`` as ``alignment.png`` and ``alignment.html``."""
    if not text.strip():
        raise UserError("--text is empty: give the sentence to translate")
    _, model, _ = amkit.load_run(run_dir, device=device)
    translation, source, target, weights = align(model, text, beam)
    translations = [translation]
    out_dir = Path(out_dir)
    png = save_heatmap(
        weights.numpy(), out_dir / "alignment.png", x_labels=source, y_labels=target,
        title=translations[0][:80],
    )  # fmt: skip
    page = out_dir / "alignment.html"
    atomic_write_text(page, render_alignment_html(source, target, weights, translations[0]))
    return AlignmentExplanation(translations[0], source, target, weights, png, page)


def align(model, text: str, beam: int | None = None
          ) -> tuple[str, list[str], list[str], torch.Tensor]:  # fmt: skip
    """``(translation, source subwords, output subwords, (T, S) cross-attention)`` of
    ``text`` by a loaded translation model; writes nothing."""
    translations, alignments = model.translate([text], beam=beam)
    tokenizer = model.tokenizer
    source = tokenizer.pieces(text)
    target_ids = tokenizer.encode(translations[0])
    weights = alignments[0]  # (T, S) over the decoded tokens
    target = [tokenizer.sp.id_to_piece(i) for i in target_ids][: weights.shape[0]]
    return translations[0], source, target, weights[: len(target), : len(source)]


@register_explainer("translation", takes="text")
def explain_translation_run(request: ExplainRequest) -> str:
    """``amkit explain RUN_DIR --text "..."``: :func:`explain_translation` of a sentence."""
    result = explain_translation(request.run_dir, request.text, request.out, device=request.device)
    return f"translation: {result.translation}\nHTML: {result.html}\nheat map: {result.png}"
