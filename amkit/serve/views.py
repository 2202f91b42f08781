"""What the explorer shows of one example, and of an input typed in "Try it": JSON-able
dicts built with the explainers of :mod:`amkit.explain` from models loaded once and cached.

Each run gets a view by its model and task (:func:`view_kind`): ``text`` (token attention,
the knowledge each token read, the gate), ``story`` (the story with attention per hop / gate
per slot / step / read head), ``recall`` (the query's attention), ``translation`` (the
alignment matrix), ``ranking`` (the top-k items with their reasons), ``forecast``,
``graph``, ``image``, ``speech`` (see :mod:`amkit.serve.families`), else ``none`` (a
"no view for this model yet" message).

Legend: M story sentences, C columns (hops, slots, steps or read heads), T, S tokens.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from amkit.data.base import model_inputs
from amkit.errors import UserError
from amkit.experiments.experiment import load_config
from amkit.experiments.loading import load
from amkit.experiments.run import device_for_run, load_run
from amkit.explain.memory import _steps_per_sentence, story_view, story_weights
from amkit.explain.registry import run_kind
from amkit.explain.text import load_text_model, token_views
from amkit.serve.families import (
    forecast_result,
    graph_example,
    graph_result,
    image_result,
    speech_result,
)
from amkit.train.device import model_device, to_device

log = logging.getLogger("amkit")

__all__ = [
    "BY_INDEX",
    "ModelCache",
    "NO_VIEW",
    "explain_example",
    "run_device",
    "try_input",
    "view_kind",
]

NO_VIEW = "no view for this model yet"
FAMILIES = {
    "graph": ("graph_kvmem", "graph_rgcn", "complex", "distmult"),
    "image": ("image_cnn", "vit"),
    "speech": ("gru_attention", "speech_transformer"),
}
BY_INDEX = ("forecast", "image", "speech")  # views shown by split and index, no predictions
MAX_TRY_CHARS = 20000  # a typed input longer than this is refused (a pasted file)


def run_device(run_dir: Path, requested: str | None = None) -> str:
    """The device a run's model answers on: ``requested`` (``amkit serve --device``), else
    the run's own ``train.device`` (``auto``: a GPU when there is one); the CPU, with a
    warning in the log, where that device is not on this machine or the run is
    int8-quantized (a CPU kernel)."""
    cfg = load_config(run_dir / "config.yaml")
    wanted = requested or cfg.train.device
    try:
        return str(device_for_run(cfg, wanted))
    except UserError as error:
        log.warning("amkit serve: %s: %s; its model answers on the CPU", run_dir, error)
        return "cpu"


class ModelCache:
    """The last ``size`` loaded runs, by directory and kind (``text``:
    :func:`~amkit.explain.text.load_text_model`, ``load``: :func:`amkit.load`, ``run``:
    :func:`amkit.load_run` with its data rebuilt), each on its :func:`run_device` (``device``:
    one for every run, as ``amkit serve --device`` gives it); one model call at a time."""

    def __init__(self, size: int = 4, device: str | None = None):
        self.size = size
        self.device = device
        self._items: OrderedDict[tuple[Path, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.infer = threading.Lock()  # held around model calls: 2 cores, one at a time

    def get(self, run_dir: Path, kind: str) -> Any:
        key = (run_dir, kind)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        device = run_device(run_dir, self.device)
        loaders = {"text": load_text_model, "load": load, "run": load_run}
        loaded = loaders[kind](run_dir, device=device)
        with self._lock:
            self._items[key] = loaded
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return loaded


def view_kind(run_dir: Path) -> tuple[str, str, str]:
    """``(view, model name, task)`` of a run, from its files alone."""
    model, task = run_kind(run_dir)
    if task == "forecasting":
        return "forecast", model, task
    for view, models in FAMILIES.items():
        if model in models:
            return view, model, task
    if model == "recall_attention":
        return "recall", model, task
    if task == "classification":
        view = "text" if (run_dir / "vocab.json").is_file() else "none"
        return view, model, task
    if task in ("story_qa", "translation", "ranking"):
        return {"story_qa": "story"}.get(task, task), model, task
    return "none", model, task


def _text_result(cache: ModelCache, run_dir: Path, text: str) -> dict[str, Any]:
    model, vocab, labels, data = cache.get(run_dir, "text")
    with cache.infer:
        label, probabilities, views = token_views(model, vocab, labels, data, run_dir, text)
    return {
        "view": "text",
        "prediction": label,
        "probabilities": probabilities,
        "tokens": [
            {
                "token": v.token,
                "weight": v.weight,
                "gate": v.gate,
                "no_knowledge": v.no_knowledge,
                "facts": [list(f) for f in v.facts],
            }
            for v in views
        ],  # fmt: skip
    }


def _story_result(view) -> dict[str, Any]:
    record = view.record
    return {
        "view": "story",
        "sentences": [" ".join(s) for s in view.sentences],
        "line_ids": view.story_ids,
        "supporting": [i in record.supporting for i in view.story_ids],
        "columns": view.columns,
        "weights": view.weights.tolist(),  # (M, C)
        "question": " ".join(record.question),
        "answer": record.answer,
        "prediction": view.predicted,
        "stages": view.stages,
    }


def _recall_result(model, data, split: str, index: int) -> dict[str, Any]:
    vocab = data.info.vocab
    example = to_device(data.split(split)[index : index + 1], model_device(model))
    with torch.no_grad():
        out = model(**model_inputs(example), need_weights=True)
    first_value = len(vocab) - data.info.n_classes  # value tokens come last
    return {
        "view": "recall",
        "tokens": [vocab[int(t)] for t in example["tokens"][0]],
        "weights": out.query[0].tolist(),  # (T,)
        "query": vocab[int(example["query"][0])],
        "answer": vocab[first_value + int(example["targets"][0])],
        "prediction": vocab[first_value + int(out.logits.argmax())],
    }


def explain_example(cache: ModelCache, run_dir: Path, row: dict[str, Any]) -> dict[str, Any]:
    """The view of one row of ``predictions.jsonl`` (its ``split`` and ``id``; for the
    :data:`BY_INDEX` views, a row made of the split and index alone)."""
    view, model_name, task = view_kind(run_dir)
    split, index = str(row.get("split")), int(row.get("id", -1))
    base = {"example": row, "model": model_name, "task": task}
    if view == "text":
        return {**base, **_text_result(cache, run_dir, str(row.get("input", "")))}
    if view in ("story", "recall"):
        _, model, data = cache.get(run_dir, "run")
        if split not in data.splits:
            raise UserError(f"this run's data has no {split} split")
        with cache.infer:
            if view == "recall":
                return {**base, **_recall_result(model, data, split, index)}
            return {**base, **_story_result(story_view(model, data, split, index))}
    if view == "graph":  # a predictions row of a graph run: its head and relation asked
        loaded = cache.get(run_dir, "run")
        with cache.infer:
            return {**base, **graph_example(loaded, run_dir, split, index)}
    if view in BY_INDEX:
        loaded = cache.get(run_dir, "run")
        if split not in loaded[2].splits:
            raise UserError(f"this run's data has no {split} split")
        with cache.infer:
            if view == "forecast":
                return {**base, **forecast_result(loaded, split, index)}
            if view == "image":
                return {**base, **image_result(loaded, run_dir, split, index)}
            return {**base, **speech_result(loaded, run_dir, split, index)}
    user = str(row.get("input", ""))
    if view == "translation":  # a predictions row: its source sentence, aligned again
        return {**base, **_translation_input(cache, run_dir, user), "reference": row.get("label")}
    if view == "ranking" and user.startswith("user "):  # the test user's top items
        return {**base, **_ranking_input(cache, run_dir, user.removeprefix("user "))}
    return {**base, "view": "none",
            "message": f"{NO_VIEW}: a {model_name} model on {task} data"}  # fmt: skip


def _story_input(cache: ModelCache, run_dir: Path, story: str, question: str) -> dict[str, Any]:
    from amkit.data.babi import BabiExample, tokenize, vectorize

    sentences = [tokenize(s) for s in story.replace("\n", ".").split(".")]
    sentences = [s for s in sentences if s]
    if not sentences or not tokenize(question):
        raise UserError("give a story (sentences ending with '.') and a question")
    _, model, data = cache.get(run_dir, "run")
    info = data.info
    words = {w: i for i, w in enumerate(info.vocab)}
    unknown = sorted({w for s in [*sentences, tokenize(question)] for w in s if w not in words})
    example = BabiExample(sentences, list(range(1, len(sentences) + 1)), tokenize(question),
                          info.vocab[1], [], 0)  # fmt: skip
    batch = vectorize([example], words, info.memory_size, info.sentence_len, info.query_len)
    batch = to_device(batch, model_device(model))
    kept = sentences[-info.memory_size :]
    with cache.infer, torch.no_grad():
        out = model(**model_inputs(batch), need_weights=True)
        weights, columns = story_weights(out, len(kept), _steps_per_sentence(model, batch))
    return {
        "view": "story",
        "sentences": [" ".join(s) for s in kept],
        "line_ids": list(range(1, len(kept) + 1)),
        "supporting": [False] * len(kept),
        "columns": columns,
        "weights": weights.tolist(),
        "question": " ".join(tokenize(question)),
        "answer": None,
        "prediction": info.vocab[int(out.logits.argmax())],
        "stages": [f"words this run never saw (read as padding): {', '.join(unknown)}"]
        if unknown
        else [],
    }


def _translation_input(cache: ModelCache, run_dir: Path, text: str) -> dict[str, Any]:
    from amkit.explain.alignment import align

    model = cache.get(run_dir, "load").model  # its spm.model: no corpus read
    with cache.infer:
        translation, source, target, weights = align(model, text)
    return {"view": "translation", "prediction": translation, "source": source,
            "target": target, "weights": weights.tolist()}  # fmt: skip


def _ranking_input(cache: ModelCache, run_dir: Path, user: str) -> dict[str, Any]:
    from amkit.explain.recommend import recommend

    loaded = cache.get(run_dir, "run")
    with cache.infer:
        result = recommend(run_dir, user, k=10, loaded=loaded)
    return {
        "view": "ranking",
        "prediction": result.items[0].item if result.items else None,
        "history": result.history[-20:],
        "items": [
            {
                "item": r.item,
                "score": r.score,
                "because": [list(b) for b in r.because],
                "shares": [list(s) for s in r.shares],
            }
            for r in result.items
        ],  # fmt: skip
    }


def _graph_input(cache: ModelCache, run_dir: Path, question: str) -> dict[str, Any]:
    loaded = cache.get(run_dir, "load")
    with cache.infer:
        return graph_result(loaded, question)


def try_input(cache: ModelCache, run_dir: Path, given: dict[str, Any]) -> dict[str, Any]:
    """The prediction and explanation of a typed input: ``text`` (text classifiers and
    translation), ``story`` + ``question`` (story QA), ``user`` (recommendation),
    ``question`` (knowledge-graph runs)."""
    view, model_name, task = view_kind(run_dir)
    values = {k: str(v) for k, v in given.items() if isinstance(v, (str, int, float))}
    if any(len(v) > MAX_TRY_CHARS for v in values.values()):
        raise UserError(f"the input is longer than {MAX_TRY_CHARS} characters")
    base = {"model": model_name, "task": task}
    question = values.get("question", values.get("text", ""))
    handlers: dict[str, Callable[[], dict[str, Any]]] = {
        "text": lambda: _text_result(cache, run_dir, values.get("text", "")),
        "translation": lambda: _translation_input(cache, run_dir, values.get("text", "")),
        "story": lambda: _story_input(
            cache, run_dir, values.get("story", ""), values.get("question", "")
        ),
        "ranking": lambda: _ranking_input(cache, run_dir, values.get("user", "")),
        "graph": lambda: _graph_input(cache, run_dir, question),
    }
    if view not in handlers:
        return {**base, "view": "none",
                "message": f"{NO_VIEW}: a {model_name} model takes no typed input"}  # fmt: skip
    return {**base, **handlers[view]()}
