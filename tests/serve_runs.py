"""Tiny trained runs for the explorer's tests (``amkit serve``): a text classifier (with a
review that carries HTML), a MemN2N on generated stories, an associative-recall run under a
name made of HTML, a half-written run and a sweep summary (:func:`make_runs`); and one run
of each newer family: forecasters, a graph run, an image run, a speech run, a translation
run and a recommender (:func:`make_family_runs`). Trained in seconds."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import torch
from synthetic import write_hourly_csv, write_interactions_csv

from amkit.experiments.predictions import PREDICTIONS_FILE
from amkit.experiments.run import run

FIXTURES = Path(__file__).parent / "fixtures"

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'


def _texts(path: Path, n: int, seed: int) -> Path:
    g = torch.Generator().manual_seed(seed)
    fillers = ["the", "film", "plot", "actor", "scene", "was", "a", "and", "it", "story"]
    cues = {"pos": ["great", "superb", "wonderful"], "neg": ["awful", "boring", "terrible"]}
    lines = ["text,label"]
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = [fillers[j] for j in torch.randint(0, len(fillers), (8,), generator=g).tolist()]
        words.insert(int(torch.randint(0, 8, (1,), generator=g)), cues[label][i % 3])
        lines.append(f"{' '.join(words)},{label}")
    if seed:  # the test split: one review carries HTML that must never run
        lines.append(f'"superb film {XSS}",pos')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_runs(root: Path) -> dict[str, Path]:
    """Train the runs under ``root/runs``; returns their directories by role."""
    torch.set_num_threads(1)
    runs = root / "runs"
    train, test = _texts(root / "train.csv", 200, 0), _texts(root / "test.csv", 60, 1)
    text = run(
        {
            "seed": 0,
            "data": {
                "name": "text",
                "train": str(train),
                "test": str(test),
                "max_len": 16,
                "min_freq": 1,
            },  # fmt: skip
            "model": {"name": "text_classifier", "encoder": "cnn", "d_embed": 16, "d_hidden": 16},
            "train": {"epochs": 3, "lr": 0.01, "batch_size": 16, "progress": False},
        },
        run_dir=runs / "text",
    ).run_dir
    story = run(
        {
            "seed": 0,
            "data": {
                "name": "babi_generated",
                "tasks": [1, 2],
                "n_train": 100,
                "n_test": 40,
                "memory_size": 10,
            },  # fmt: skip
            "model": {"name": "memn2n", "d_model": 16, "hops": 3, "linear_start": False},
            "train": {"epochs": 2, "optimizer": "adam", "lr": 0.01, "progress": False},
        },
        run_dir=runs / "memn2n",
    ).run_dir
    recall = run(
        {
            "seed": 0,
            "data": {
                "name": "associative_recall",
                "n_keys": 8,
                "n_values": 5,
                "n_pairs": 3,
                "n_train": 100,
                "n_val": 20,
                "n_test": 20,
            },  # fmt: skip
            "model": {"name": "recall_attention", "d_model": 16},
            "train": {"epochs": 2, "progress": False},
        },
        run_dir=runs / "recall <img src=x onerror=window.__xss=1>",
    ).run_dir
    half = runs / "half-written"
    half.mkdir()
    (half / "config.yaml").write_text("seed: 0\ndata: {name: text}\nmodel: {name: memn2n}\n")
    (half / "metrics.jsonl").write_text('{"epoch": 1, "val_accuracy": 0.5}\n{"epoch": 2, "val_')
    sweep = runs / "sweep"
    sweep.mkdir()
    stat = {"n": 2, "mean": 0.8, "std": 0.02, "ci95_low": 0.62, "ci95_high": 0.98}
    (sweep / "summary.json").write_text(json.dumps({
        "baseline": "a", "compared_metric": "test_accuracy", "runs": [], "failed": {},
        "variants": [{"variant": "hops=1", "seeds": [0, 1], "test_accuracy": stat},
                     {"variant": "hops=3", "seeds": [0, 1],
                      "test_accuracy": {**stat, "mean": 0.9, "ci95_low": 0.85,
                                        "ci95_high": 0.95}}],
    }))  # fmt: skip
    return {"root": runs, "text": text, "story": story, "recall": recall, "half": half}


def _has(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def make_family_runs(
    root: Path,
    digit_wavs: Callable[[Path], Path],
    reverse_corpus: Callable[..., Path],
    translation_config: Callable[..., dict],
) -> dict[str, Path]:
    """Train one tiny run per newer family under ``root/runs``; returns their directories
    by name (``patchtst``, ``memory`` (a memory forecaster), ``kvmem``, ``cnn``, ``sasrec``,
    and ``gru`` (speech) / ``seq2seq`` (translation) where their packages are installed).
    The forecasters (which write none) and the image run lose their ``predictions.jsonl``:
    they are opened by split and index alone."""
    torch.set_num_threads(1)
    runs = root / "runs"
    series = {"name": "timeseries", "path": str(write_hourly_csv(root / "series.csv")),
              "lookback": 16, "horizon": 4, "split": "ratio"}  # fmt: skip
    forecast_train = {"monitor": "val_mse", "mode": "min"}
    sequences = {"name": "sequences", "source": "interactions", "min_count": 0, "max_len": 8,
                 "n_negatives": 5,
                 "path": str(write_interactions_csv(root / "interactions.csv"))}  # fmt: skip
    configs = {
        "patchtst": ({"data": series, "model": {"name": "patchtst", "patch_len": 4, "stride": 4,
                      "n_layers": 1, "d_ff": 8, "d_model": 8, "n_heads": 2}}, forecast_train),
        "memory": ({"data": series, "model": {"name": "memory_forecaster", "k": 3,
                    "key_length": 8}}, forecast_train),
        "kvmem": ({"data": {"name": "countries", "subset": "S3",
                            "path": str(FIXTURES / "countries")},
                   "model": {"name": "graph_kvmem", "d_key": 8}}, {}),
        "cnn": ({"data": {"name": "digits"}, "model": {"name": "image_cnn", "channels": [4, 8],
                 "attention": "sagan", "attention_stage": 1}}, {}),
        "sasrec": ({"data": sequences, "model": {"name": "sasrec", "d_model": 16,
                    "n_blocks": 1}}, {}),
    }  # fmt: skip
    if _has("soundfile", "librosa"):
        speech = {"name": "fsdd", "path": str(digit_wavs(root / "wav")), "val_fraction": 0.5,
                  "n_mels": 8}  # fmt: skip
        configs["gru"] = (
            {"data": speech, "model": {"name": "gru_attention", "d_hidden": 8,
                                       "conv_channels": 8}}, {})  # fmt: skip
    if _has("sentencepiece", "sacrebleu"):
        mt = translation_config(reverse_corpus(root / "mt", n_train=200), epochs=1, d_model=16,
                                hidden=16, max_decode_len=8)  # fmt: skip
        configs["seq2seq"] = ({"data": mt["data"], "model": mt["model"]}, mt["train"])
    made = {"root": runs}
    for name, (config, train) in configs.items():
        train = {"epochs": 1, "batch_size": 128, "progress": False, **train}
        made[name] = run({"seed": 0, **config, "train": train}, run_dir=runs / name).run_dir
        if name in ("patchtst", "memory", "cnn"):
            (made[name] / PREDICTIONS_FILE).unlink(missing_ok=True)  # by index alone
    return made
