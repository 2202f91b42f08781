"""Tiny trained runs for the explorer's tests (``amkit serve``): a text classifier (with a
review that carries HTML), a MemN2N on generated stories, an associative-recall run under a
name made of HTML, a half-written run and a sweep summary. Trained in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from amkit.experiments.run import run

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
