"""Self-training: a teacher's predictions of the unlabelled texts, pseudo-labelled students
(baseline and neural), ensembles as teachers, and the errors of a mismatched setup."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from amkit.cli import main
from amkit.data.pseudo_labels import load_pseudo_labels, unlabelled_indices
from amkit.data.text import read_labelled_texts, split_indices


@pytest.fixture
def subset_config(tmp_path, sentiment_csv):
    """A baseline config on 400 generated reviews, 25 % of the non-validation ones labelled."""
    train = sentiment_csv(tmp_path / "train.csv", n=400)
    test = sentiment_csv(tmp_path / "test.csv", n=60, seed=1)
    config = tmp_path / "nbsvm.yaml"
    config.write_text(
        f"data: {{name: text, train: {train}, test: {test}, train_fraction: 0.25}}\n",
        encoding="utf-8",
    )
    return config


class _Split:
    """The split settings of the generated setup (seed 0)."""

    val_fraction, train_fraction, split_seed = 0.1, 0.25, None


def _split(train_csv):
    """``(gold class ids, labelled subset, validation, unlabelled pool)`` of the setup."""
    _, labels = read_labelled_texts(train_csv)
    gold = [int(label == "pos") for label in labels]
    fit_idx, val_idx = split_indices(gold, _Split, seed=0)
    return gold, fit_idx, val_idx, unlabelled_indices(len(gold), fit_idx, val_idx)


def _teacher(tmp_path, config, name="teacher", *overrides):
    out = tmp_path / name
    args = ["baseline", str(config), "--out", str(out), "--set", "data.predict_unlabelled=true"]
    assert main([*args, *overrides]) == 0
    return out


def test_the_pool_is_what_the_labelled_subset_and_validation_leave():
    targets = [i % 2 for i in range(200)]
    fit_idx, val_idx = split_indices(targets, _Split, seed=0)
    pool = unlabelled_indices(len(targets), fit_idx, val_idx)
    assert sorted([*fit_idx, *val_idx, *pool]) == list(range(200))  # a partition
    assert pool == sorted(pool) and len(pool) == 200 - len(fit_idx) - len(val_idx)


def test_a_teacher_predicts_the_pool_and_a_student_trains_on_its_confident_labels(
    tmp_path, subset_config
):
    teacher = _teacher(tmp_path, subset_config)
    saved = load_file(str(teacher / "probabilities.safetensors"))
    _, fit_idx, _, pool = _split(tmp_path / "train.csv")
    assert saved["unlabelled_index"].tolist() == pool
    assert saved["unlabelled"].shape == (len(pool), 2)
    np.testing.assert_allclose(saved["unlabelled"].sum(1), 1.0, rtol=1e-5)

    # the kept texts are those at or above the threshold, with the teacher's argmax (naive loop)
    pseudo = load_pseudo_labels(teacher, pool, 0.6)
    expected = [(i, int(p.argmax())) for i, p in zip(pool, saved["unlabelled"], strict=True)
                if p.max() >= 0.6]  # fmt: skip
    assert list(zip(pseudo.indices, pseudo.labels, strict=True)) == expected

    student = tmp_path / "student"
    assert main(["baseline", str(subset_config), "--out", str(student), "--set",
                 f"data.pseudo_labels={teacher}", "data.pseudo_threshold=0.6"]) == 0  # fmt: skip
    metrics = json.loads((student / "metrics.json").read_text())
    record = metrics["pseudo_labels"]
    assert record["pool"] == len(pool) and record["kept"] == len(expected) > 0
    assert metrics["n_train"] == len(fit_idx) + record["kept"]
    assert record["agreement_with_held_back_labels"] >= 0.9  # the generated data is easy
    assert metrics["test"]["accuracy"] >= 0.9


def test_an_ensemble_of_teachers_is_a_teacher(tmp_path, subset_config):
    first = _teacher(tmp_path, subset_config, "t1")
    second = _teacher(tmp_path, subset_config, "t2", "nbsvm.classifier=logreg")
    out = tmp_path / "ens"
    assert main(["ensemble", str(first), str(second), "--method", "voting", "--out", str(out)]) == 0
    members = [load_file(str(run / "probabilities.safetensors")) for run in (first, second)]
    ensemble = load_file(str(out / "probabilities.safetensors"))
    assert ensemble["unlabelled_index"].tolist() == members[0]["unlabelled_index"].tolist()
    soft_vote = (members[0]["unlabelled"] + members[1]["unlabelled"]) / 2
    np.testing.assert_allclose(ensemble["unlabelled"], soft_vote, rtol=1e-5)
    student = tmp_path / "student"
    assert main(["baseline", str(subset_config), "--out", str(student),
                 "--set", f"data.pseudo_labels={out}"]) == 0  # fmt: skip


def test_a_neural_student_trains_on_the_pseudo_labelled_texts(tmp_path, subset_config):
    from amkit.experiments.run import build_data, load_config

    teacher = _teacher(tmp_path, subset_config)
    train = tmp_path / "train.csv"
    raw = {"data": {"name": "text", "train": str(train), "train_fraction": 0.25, "min_freq": 1,
                    "pseudo_labels": str(teacher), "pseudo_threshold": 0.6},
           "model": {"name": "text_classifier"}}  # fmt: skip
    data = build_data(load_config(raw))
    targets = data.split("train").tensors["targets"].tolist()
    gold, fit_idx, val_idx, pool = _split(train)
    pseudo = load_pseudo_labels(teacher, pool, 0.6)
    assert targets == [gold[i] for i in fit_idx] + pseudo.labels
    summary = json.loads(data.files["pseudo_labels.json"])
    assert summary["kept"] == len(pseudo.indices) and summary["threshold"] == 0.6
    assert len(data.split("val").tensors["targets"]) == len(val_idx)  # validation untouched


def test_mismatched_or_missing_teachers_are_clear_errors(tmp_path, subset_config, capsys):
    plain = tmp_path / "plain"
    assert main(["baseline", str(subset_config), "--out", str(plain)]) == 0
    assert main(["baseline", str(subset_config), "--out", str(tmp_path / "s1"),
                 "--set", f"data.pseudo_labels={plain}"]) == 2  # fmt: skip
    assert "no predictions of the unlabelled texts" in capsys.readouterr().err
    teacher = _teacher(tmp_path, subset_config)
    assert main(["baseline", str(subset_config), "--out", str(tmp_path / "s2"),
                 "--set", f"data.pseudo_labels={teacher}", "seed=1"]) == 2  # fmt: skip
    assert "predicts another unlabelled pool" in capsys.readouterr().err
    assert main(["baseline", str(subset_config), "--out", str(tmp_path / "s3"),
                 "--set", "data.pseudo_labels=x", "data.train_fraction=1.0"]) == 2  # fmt: skip
    assert "pseudo_labels needs train_fraction < 1" in capsys.readouterr().err
