"""Regenerate ``tests/fixtures/run_format/``: a tiny committed run of the current run format.

``tests/test_committed_run.py`` loads that run through ``amkit.load`` (the path ``amkit
evaluate --input`` and ``amkit explain`` take) and checks that its outputs on a fixed input
still equal the ones stored beside it (``expected.json``). A change that breaks loading of
runs users already have therefore fails the test.

Run this script **only when** ``amkit.experiments.loading.RUN_FORMAT`` **changes** (after
making sure runs of the previous format still load, or are refused with a clear message),
then commit the new folder:

    PYTHONPATH=. python tools/make_run_fixture.py        # about 10 s on one CPU thread

What it writes (about 20 KB): a text classifier (CNN + attention pooling, 8 dimensions)
trained for two epochs on a generated two-class corpus, as ``amkit train`` leaves it, less
the files that are only logs or pictures (``train.log``, ``events/``, ``plots/``, the lock);
``inputs.csv`` (labelled reviews the model never saw) and ``expected.json`` (the class
probabilities of those reviews, and the metrics of ``amkit evaluate RUN --input
inputs.csv``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "run_format"
RUN = FIXTURE / "run"
DROP = ("train.log", "events", "plots", ".amkit.lock")  # logs and pictures, not the format
FILLERS = ["the", "film", "plot", "actor", "scene", "was", "a", "and", "it", "story"]
CUES = {"pos": ["great", "superb", "wonderful"], "neg": ["awful", "boring", "terrible"]}
CONFIG = """\
seed: 0
data: {name: text, train: train.csv, test: test.csv, max_len: 12, min_freq: 1}
model: {name: text_classifier, encoder: cnn, pooling: attention, d_embed: 8, d_hidden: 8,
        cnn_widths: [2, 3], dropout: 0.1}
train: {epochs: 2, batch_size: 16, lr: 0.02, progress: false}
"""


def reviews(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` generated reviews ``(text, label)``: one cue word among fillers decides it."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = [rng.choice(FILLERS) for _ in range(6)]
        words.insert(rng.randrange(7), rng.choice(CUES[label]))
        out.append((" ".join(words), label))
    return out


def write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows), encoding="utf-8")


def main() -> None:
    import torch

    import amkit
    from amkit.cli import main as amkit_main
    from amkit.experiments.loading import evaluate_file

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="amkit-run-fixture."))
    try:
        # relative data paths, so the committed config.yaml names no temporary folder
        os.chdir(work)
        write_csv(work / "train.csv", reviews(96, seed=1))
        write_csv(work / "test.csv", reviews(16, seed=2))
        (work / "config.yaml").write_text(CONFIG, encoding="utf-8")
        if amkit_main(["train", "config.yaml", "--out", "run"]) != 0:
            sys.exit("training the fixture run failed")
        for name in DROP:
            path = work / "run" / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        shutil.rmtree(FIXTURE, ignore_errors=True)
        FIXTURE.mkdir(parents=True)
        shutil.copytree(work / "run", RUN)
    finally:
        os.chdir(ROOT)
        shutil.rmtree(work, ignore_errors=True)
    inputs = FIXTURE / "inputs.csv"
    write_csv(inputs, reviews(6, seed=3))
    run = amkit.load(RUN)
    texts = [line.rsplit(",", 1)[0] for line in inputs.read_text().splitlines()[1:]]
    expected = {
        "run_format": json.loads((RUN / "metrics.json").read_text())["run_format"],
        "texts": texts,
        "probabilities": run.predict_texts(texts).tolist(),
        "evaluate_input": evaluate_file(RUN, inputs),
    }
    (FIXTURE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    size = sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file())
    print(f"wrote {FIXTURE.relative_to(ROOT)} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
