"""Per-example predictions of a run: ``predictions.jsonl``, one JSON object a line.

Written beside ``probabilities.safetensors`` when a run is trained (and by
``amkit evaluate RUN_DIR --save-probabilities``), for every validation and test example::

    {"id": 17, "split": "test", "input": "the film was superb ...", "label": "pos",
     "prediction": "pos", "correct": true, "confidence": 0.93, "task": 2}

``id`` is the example's index in its split (what ``amkit explain --example`` takes within a
bAbI task is counted per task: ``task_index``); ``input`` is the text as read (cut to
:data:`MAX_INPUT_CHARS`), a short rendering of the ids the model saw, a graph query as
``"HEAD RELATION?"``, a clip's file name, ``image N`` or ``user ID``; ``task`` only for
multi-task data (bAbI). A recommender's label is the held-out item and its prediction the
best-scored of the row's candidates (by item name). Where the data names the answer
candidates (``answer_ids``: a graph's regions) the prediction is the best-scored candidate,
as ``candidate_accuracy`` counts and ``amkit ask`` answers. ``amkit serve`` pages and
searches this file.

A translation run has no class per example: its rows (:func:`translation_rows`) hold the
source sentence as ``input``, the reference as ``label``, the model's translation as
``prediction``, ``correct`` when the two match exactly (ignoring case and spaces) and the
sentence's ``bleu`` (sacreBLEU's sentence score, 0-100).

Legend: N examples, C classes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from amkit.data.base import DataBundle
from amkit.io import atomic_write_text

PREDICTIONS_FILE = "predictions.jsonl"
MAX_INPUT_CHARS = 2000

__all__ = [
    "MAX_INPUT_CHARS",
    "PREDICTIONS_FILE",
    "prediction_rows",
    "save_predictions",
    "translation_rows",
]


def _render_ids(ids: list[int], vocab: list[str] | None) -> str:
    words = [vocab[i] if vocab and 0 <= i < len(vocab) else str(i) for i in ids if i != 0]
    return " ".join(words)


def _inputs(data: DataBundle, split: str) -> list[str]:
    """One string per example of ``split``: the raw text or story when the reader kept it,
    else the non-padding ids of ``tokens`` (and ``query``) through the vocabulary."""
    info = data.info
    tensors = data.split(split).tensors
    n = len(tensors["targets"])
    examples = (info.examples or {}).get(split)
    if examples is not None and len(examples) == n:
        out = []
        for record in examples:
            if isinstance(record, str):
                out.append(record)
            elif hasattr(record, "story") and hasattr(record, "question"):
                story = " ".join(" ".join(s) + "." for s in record.story)
                out.append(f"{story} {' '.join(record.question)}?")
            elif hasattr(record, "wave") and hasattr(record, "name"):  # a clip: its file name
                out.append(str(record.name))
            else:
                out.append(str(record))
        return [text[:MAX_INPUT_CHARS] for text in out]
    if "tokens" in tensors:
        tokens = tensors["tokens"].tolist()
        query = tensors["query"].tolist() if "query" in tensors else None
        out = []
        for i, row in enumerate(tokens):
            text = _render_ids(row, info.vocab)
            if query is not None:
                q = query[i] if isinstance(query[i], list) else [query[i]]
                text += " ? " + _render_ids(q, info.vocab)
            out.append(text[:MAX_INPUT_CHARS])
        return out
    graph = getattr(info, "graph", None)
    if "head" in tensors and "relation" in tensors and graph is not None:  # "HEAD RELATION?"
        return [
            f"{graph.entities[h].replace('_', ' ')} {graph.relations[r]}?"
            for h, r in zip(tensors["head"].tolist(), tensors["relation"].tolist(), strict=True)
        ]
    if "images" in tensors:
        return [f"image {i}" for i in range(n)]
    if "user" in tensors:
        names = info.user_names or {}
        return [f"user {names.get(int(u), int(u))}" for u in tensors["user"].tolist()]
    return [""] * n


def prediction_rows(data: DataBundle, split: str, probabilities: torch.Tensor) -> list[dict]:
    """The rows of ``predictions.jsonl`` for ``split`` from its ``(N, C)`` probabilities."""
    tensors = data.split(split).tensors
    info = data.info
    names = info.label_names
    if names is None and info.vocab is not None and info.n_classes <= len(info.vocab):
        names = info.vocab[len(info.vocab) - info.n_classes :]  # answers are the last words
    targets = tensors["targets"].tolist()
    confidence, predicted = probabilities.float().max(-1)
    answers = list(getattr(info, "answer_ids", None) or [])
    if answers and set(targets) <= set(answers):  # a graph query: the best of its candidates
        candidates = torch.tensor(answers)
        confidence, column = probabilities.float()[:, candidates].max(-1)
        predicted = candidates[column]
    tasks = tensors["meta_task"].tolist() if "meta_task" in tensors else None
    inputs = _inputs(data, split)
    per_task: dict[int, int] = {}

    candidates = tensors["candidates"].tolist() if "candidates" in tensors else None
    items = info.item_names or {}

    def name(i: int, row: int) -> str:
        if candidates is not None:  # a ranking: column i of the row's candidates, by name
            return str(items.get(candidates[row][i], candidates[row][i]))
        return names[i] if names is not None and 0 <= i < len(names) else str(i)

    rows = []
    for i, (target, guess) in enumerate(zip(targets, predicted.tolist(), strict=True)):
        row: dict[str, Any] = {
            "id": i,
            "split": split,
            "input": inputs[i],
            "label": name(target, i),
            "prediction": name(guess, i),
            "correct": target == guess,
            "confidence": round(float(confidence[i]), 4),
        }
        if tasks is not None:
            row["task"] = tasks[i]
            row["task_index"] = per_task.get(tasks[i], 0)  # amkit explain --task T --example
            per_task[tasks[i]] = row["task_index"] + 1
        rows.append(row)
    return rows


def translation_rows(model: Any, data: DataBundle, split: str) -> list[dict]:
    """The rows of ``predictions.jsonl`` for ``split`` of a translation run: each source
    sentence translated by ``model`` (its ``translate``, on the model's device) beside its
    reference (see the module docstring)."""
    sources = (data.info.sources or {}).get(split) or []
    references = (data.info.references or {}).get(split) or []
    if not sources or len(sources) != len(references):
        return []
    translations, _ = model.translate(sources)
    try:
        from sacrebleu import sentence_bleu
    except ImportError:  # pragma: no cover - sacrebleu comes with the translation extra
        sentence_bleu = None
    rows = []
    for i, (source, reference, guess) in enumerate(
        zip(sources, references, translations, strict=True)
    ):
        row: dict[str, Any] = {
            "id": i,
            "split": split,
            "input": source[:MAX_INPUT_CHARS],
            "label": reference[:MAX_INPUT_CHARS],
            "prediction": guess[:MAX_INPUT_CHARS],
            "correct": " ".join(guess.lower().split()) == " ".join(reference.lower().split()),
        }
        if sentence_bleu is not None:
            row["bleu"] = round(float(sentence_bleu(guess, [reference]).score), 2)
        rows.append(row)
    return rows


def save_predictions(
    run_dir: str | Path,
    data: DataBundle,
    probabilities: dict[str, torch.Tensor],
    rows: list[dict] | None = None,
) -> Path:
    """Write ``run_dir/predictions.jsonl`` (atomically) from each split's probabilities,
    then ``rows`` made elsewhere (a translation run's, :func:`translation_rows`)."""
    lines = []
    for split, probs in probabilities.items():
        lines += [json.dumps(row) for row in prediction_rows(data, split, probs)]
    lines += [json.dumps(row) for row in rows or []]
    path = Path(run_dir) / PREDICTIONS_FILE
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return path
