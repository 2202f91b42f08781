"""The explorer's views of forecasting, knowledge-graph, image and speech runs: JSON-able
dicts built from the explainers of :mod:`amkit.explain` (their numbers, not their figures).

Legend: L lookback, H horizon, P patches, K hops, h x w the attention grid, F mel bands,
T frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amkit.errors import UserError

__all__ = ["forecast_result", "graph_example", "graph_result", "image_result", "speech_result"]


def forecast_result(loaded, split: str, index: int) -> dict[str, Any]:
    """History (L,), truth and forecast (H,), and the patch attention (P, P) or the
    retrieved windows with their weights, of test window ``index``."""
    from amkit.explain.forecast import forecast_window

    cfg, model, data = loaded
    view = forecast_window(cfg, model, data, split, index)
    return {
        "view": "forecast",
        "channel": view.channel,
        "start": view.start,
        "history": view.history.tolist(),
        "truth": view.truth.tolist(),
        "forecast": view.forecast.tolist(),
        "error": view.error,
        "patches": None if view.patches is None else view.patches.tolist(),
        "retrieved": [
            {"weight": w, "row": first, "values": v.tolist()} for w, first, v in view.recalled
        ],  # fmt: skip
        "gate": view.gate,
    }


def graph_result(loaded, question: str) -> dict[str, Any]:
    """The answers with scores and each hop's attended facts of ``question`` by a loaded
    graph run (:func:`amkit.explain.graph.ask`, given an :func:`amkit.load` result); a
    question naming no entity raises the clear message."""
    from amkit.explain.graph import NO_ENTITY, ask

    if not question.strip():
        raise UserError("give a question, e.g. 'Which region is Palau located in?'")
    answer = ask(loaded.run_dir, question, loaded=loaded)
    if not answer.entities:
        raise UserError(f"{NO_ENTITY}: {question!r}")
    return {
        "view": "graph",
        "question": answer.question,
        "entities": answer.entities,
        "relation": answer.relation,
        "prediction": answer.answers[0][0] if answer.answers else None,
        "answers": [{"entity": e, "score": s} for e, s in answer.answers],
        "hops": [[{"fact": f, "weight": w} for f, w in hop] for hop in answer.hops],
        "path": answer.path,
    }


def graph_example(loaded, run_dir: Path, split: str, index: int) -> dict[str, Any]:
    """:func:`graph_result` of example ``index`` of ``split`` of a loaded run (an
    :func:`amkit.load_run` result), asked as ``"HEAD RELATION?"``."""
    from amkit.experiments.loading import LoadedRun

    cfg, model, data = loaded
    tensors = data.split(split).tensors
    if not 0 <= index < len(tensors["head"]):
        raise UserError(f"no {split} example {index} in this run's data")
    graph = data.info.graph
    head = graph.entities[int(tensors["head"][index])].replace("_", " ")
    relation = graph.relations[int(tensors["relation"][index])]
    return graph_result(LoadedRun(Path(run_dir), cfg, model, data.info), f"{head} {relation}?")


def image_result(loaded, run_dir: Path, split: str, index: int) -> dict[str, Any]:
    """The image (H, W) and the pooled and centre-pixel attention maps (h, w) of example
    ``index`` of a loaded run (:func:`amkit.explain.image.image_attention`)."""
    from amkit.explain.image import image_attention

    _, model, data = loaded
    info, images = data.info, data.split(split).tensors["images"]
    if not 0 <= index < len(images):
        raise UserError(f"no {split} image {index}: this run's {split} split has {len(images)}")
    found = image_attention(model, info, images[index : index + 1], what=str(run_dir))
    shown = images[index, 0] * (info.image_std or [1.0])[0] + (info.image_mean or [0.0])[0]
    return {
        "view": "image",
        "prediction": found.label,
        "probabilities": found.probabilities,
        "image": shown.tolist(),  # (H, W)
        "query_pixel": list(found.query_pixel),
        "query_map": found.query_map.tolist(),
        "pooled_map": found.pooled_map.tolist(),
    }


def speech_result(loaded, run_dir: Path, split: str, index: int) -> dict[str, Any]:
    """The spectrogram (F, T) and the attention over frames (T,) of clip ``index``
    (:func:`amkit.explain.audio.explain_clip`)."""
    from amkit.experiments.loading import LoadedRun
    from amkit.explain.audio import explain_clip, speech_features

    cfg, model, data = loaded
    clips = (data.info.examples or {}).get(split)
    if clips is None or not 0 <= index < len(clips):
        raise UserError(f"no {split} clip {index} in this run's data")
    clip = clips[index]
    run = LoadedRun(Path(run_dir), cfg, model, data.info)
    found = explain_clip(run, clip.wave, clip.name, None)  # no figure: its numbers
    features, lengths = speech_features(run, clip.wave)
    t = int(lengths[0])
    return {
        "view": "speech",
        "name": clip.name,
        "label": str(clip.label),
        "prediction": found.label,
        "probabilities": found.probabilities,
        "spectrogram": features[0, :t].T.tolist(),  # (F, T)
        "frames": found.frames.tolist(),  # (T,)
        "frame_seconds": found.frame_seconds,
    }
