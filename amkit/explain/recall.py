"""Where did the associative-recall model look? The query's attention over the sequence,
as text and a PNG heat map (``amkit explain`` of a ``recall_attention`` run, and ``amkit
demo``).

Legend: T sequence length.
"""

from __future__ import annotations

from pathlib import Path

import torch

from amkit.experiments.run import load_run
from amkit.explain.heatmap import save_heatmap
from amkit.explain.registry import ExplainRequest, register_explainer
from amkit.train.device import model_device, to_device


def explain_recall_example(
    model: torch.nn.Module, data, index: int, out_dir: str | Path, split: str = "test"
) -> tuple[str, Path]:
    """Text trace and PNG heat map of the query's attention for one recall example."""
    vocab = data.info.vocab
    example = data.split(split)[index : index + 1]
    model.eval()
    with torch.no_grad():  # on the model's device (the demo trains on a GPU when there is one)
        out = model(**to_device(example, model_device(model)), need_weights=True)
    weights = out.query[0].float().cpu()  # (T,)
    tokens = [vocab[int(t)] for t in example["tokens"][0]]
    query = vocab[int(example["query"][0])]
    first_value = len(vocab) - data.info.n_classes  # value tokens come last
    answer = vocab[first_value + int(example["targets"][0])]
    predicted = vocab[first_value + int(out.logits.argmax())]
    lines = [
        f"  sequence: {' '.join(tokens)}   query: {query}   answer: {answer}"
        f"   predicted: {predicted}",
        "  attention: "
        + "  ".join(f"{tok}:{w:.2f}" for tok, w in zip(tokens, weights.tolist(), strict=True)),
    ]
    png = save_heatmap(
        weights.numpy(),
        Path(out_dir) / f"query_attention_{split}{index}.png",
        x_labels=tokens,
        y_labels=[f"query {query}"],
        title=f"query {query} -> answer {answer} (predicted {predicted})",
    )
    return "\n".join(lines), png


@register_explainer("recall_attention", takes="example")
def explain_recall_run(request: ExplainRequest) -> str:
    """``amkit explain RUN_DIR [--example N]``: :func:`explain_recall_example` of a recall
    run (its generated data is rebuilt)."""
    _, model, data = load_run(request.run_dir, overrides=request.overrides, device=request.device)
    text, png = explain_recall_example(model, data, request.example, request.out, request.split)
    return f"{text}\nheat map: {png}"
