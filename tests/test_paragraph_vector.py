"""Paragraph vectors + logistic regression: learning, process-independent vectors, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("gensim")

from amkit.baselines.paragraph_vector import ParagraphVectorLR  # noqa: E402
from amkit.cli import main  # noqa: E402

TEXTS = ["a good good film", "a great film", "a bad film", "an awful bad plot", "good plot"]
LABELS = [1, 1, 0, 0, 1]
_VECTORS_IN_A_NEW_PROCESS = """
import json, sys
from amkit.baselines.paragraph_vector import ParagraphVectorLR
texts, labels = json.loads(sys.argv[1])
model = ParagraphVectorLR(vector_size=8, epochs=5, min_count=1, seed=3).fit(texts, labels)
print(json.dumps(model.transform(["a good plot", "awful film"]).tolist()))
"""


def test_vectors_do_not_depend_on_the_process_hash_seed():
    """gensim seeds vectors with Python's salted ``hash``; ours must not: two processes with
    different PYTHONHASHSEED give the same trained model and the same inferred vectors."""
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", _VECTORS_IN_A_NEW_PROCESS, json.dumps([TEXTS, LABELS])],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        outputs.append(np.array(json.loads(done.stdout)))
    assert outputs[0].shape == (2, 8)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    # and in this process, inferring a text alone or after others gives the same vector
    model = ParagraphVectorLR(vector_size=8, epochs=5, min_count=1, seed=3).fit(TEXTS, LABELS)
    alone = model.transform(["awful film"])
    np.testing.assert_array_equal(model.transform(["a good plot", "awful film"])[1], alone[0])
    np.testing.assert_array_equal(outputs[0], model.transform(["a good plot", "awful film"]))


def test_paragraph_vector_baseline_learns_a_generated_corpus(tmp_path, capsys, sentiment_csv):
    train = sentiment_csv(tmp_path / "train.csv", n=400)
    test = sentiment_csv(tmp_path / "test.csv", n=100, seed=1)
    config = tmp_path / "pv.yaml"
    settings = "paragraph_vector: {vector_size: 16, epochs: 60, min_count: 1, sample: 0}\n"
    config.write_text(f"data: {{name: text, train: {train}, test: {test}}}\n{settings}")
    out = tmp_path / "run"
    assert main(["baseline", str(config), "--out", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["baseline"] == "paragraph_vector" and metrics["test"]["n"] == 100
    assert metrics["test"]["accuracy"] >= 0.9


def test_missing_gensim_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim.models.doc2vec", None)
    with pytest.raises(ImportError, match=r"pip install -e \.\[doc2vec\]"):
        ParagraphVectorLR().fit(TEXTS, LABELS)
