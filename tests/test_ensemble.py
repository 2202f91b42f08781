"""Ensembles over trained models' probabilities: estimators and ``amkit ensemble``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression

from amkit.cli import main
from amkit.ensemble import Stacking, Voting, WeightedAverage, stacking_features
from amkit.ensemble.runs import out_of_fold_probabilities, run_ensemble


def _random_probabilities(models: int, n: int, classes: int, seed: int = 0) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(models, n, classes)) * 2
    e = np.exp(logits)
    return e / e.sum(-1, keepdims=True)


def _informative_models(n: int = 400, classes: int = 3, seed: int = 0):
    """Targets plus three models: a good one, a weaker one and one that is pure noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    onehot = np.eye(classes)[y]
    noise = _random_probabilities(3, n, classes, seed + 1)
    P = np.stack([0.7 * onehot + 0.3 * noise[0], 0.3 * onehot + 0.7 * noise[1], noise[2]])
    return P, y


def test_soft_voting_is_the_mean_and_hard_voting_counts_top_classes():
    P = np.array(
        [
            [[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]],
            [[0.6, 0.4], [0.45, 0.55], [0.6, 0.4]],
            [[0.4, 0.6], [0.9, 0.1], [0.8, 0.2]],
        ]
    )  # 3 models x 3 examples x 2 classes
    soft = Voting("soft").fit(P)
    np.testing.assert_allclose(soft.predict_proba(P), P.mean(0))
    assert soft.predict(P).tolist() == [0, 0, 0]  # class-0 means .633, .583, .533
    hard = Voting("hard").fit(P)
    # votes: ex 0 -> 0, 0, 1; ex 1 -> 1, 1, 0; ex 2 -> 1, 0, 0
    np.testing.assert_allclose(
        hard.predict_proba(P), [[2 / 3, 1 / 3], [1 / 3, 2 / 3], [2 / 3, 1 / 3]]
    )
    assert hard.predict(P).tolist() == [0, 1, 0]
    weighted = Voting("hard", weights=[1, 1, 3]).fit(P)  # the third model outvotes the others
    assert weighted.predict(P).tolist() == [1, 0, 0]


def test_hard_voting_tie_goes_to_the_lowest_class_like_scikit_learn():
    P = np.array([[[0.1, 0.9, 0.0]], [[0.0, 0.1, 0.9]]])  # one vote for class 1, one for 2
    assert Voting("hard").fit(P).predict(P).tolist() == [1]


def test_weighted_average_weights_are_on_the_simplex_and_favour_the_good_model():
    P, y = _informative_models()
    model = WeightedAverage().fit(P, y)
    assert model.weights_.shape == (3,)
    assert (model.weights_ >= 0).all()
    assert model.weights_.sum() == pytest.approx(1.0)
    assert model.weights_[0] > 0.5 and model.weights_[2] < 0.05  # good model leads, noise ~0

    # The fit minimises the log loss over the simplex: no point of a fine grid does better.
    def log_loss(w):
        return -np.log(np.tensordot(w, P, axes=1)[np.arange(len(y)), y]).mean()

    grid = [
        np.array([a, b, 1 - a - b]) for a in np.linspace(0, 1, 41) for b in np.linspace(0, 1, 41)
    ]
    best_on_grid = min(log_loss(w) for w in grid if w[2] >= -1e-12)
    assert log_loss(model.weights_) <= best_on_grid + 1e-6
    np.testing.assert_allclose(model.predict_proba(P).sum(-1), 1.0)
    np.testing.assert_allclose(model.predict_proba(P), np.tensordot(model.weights_, P, axes=1))


def test_weighted_average_is_no_worse_than_any_single_model_on_its_fit_data():
    P, y = _informative_models(seed=3)

    def log_loss(probabilities):
        return -np.log(probabilities[np.arange(len(y)), y]).mean()

    fitted = log_loss(WeightedAverage().fit(P, y).predict_proba(P))
    assert all(fitted <= log_loss(P[m]) + 1e-6 for m in range(3))  # corners are feasible


@pytest.mark.parametrize("classes", [2, 3])
def test_stacking_matches_scikit_learns_stacking_classifier(classes):
    P_fit = _random_probabilities(3, 200, classes, seed=1)
    y_fit = np.random.default_rng(2).integers(0, classes, 200)
    P_new = _random_probabilities(3, 50, classes, seed=3)

    class Column(ClassifierMixin, BaseEstimator):
        """A 'trained model' whose probabilities are columns ``m`` of the feature matrix."""

        def __init__(self, m=0):
            self.m = m

        def fit(self, X, y):
            self.classes_ = np.arange(classes)
            return self

        def predict_proba(self, X):
            return X[:, self.m * classes : (self.m + 1) * classes]

    def features(P):
        return P.transpose(1, 0, 2).reshape(P.shape[1], -1)

    members = [(f"m{m}", Column(m).fit(None, None)) for m in range(3)]
    reference = StackingClassifier(
        members, final_estimator=LogisticRegression(), cv="prefit", stack_method="predict_proba"
    ).fit(features(P_fit), y_fit)
    ours = Stacking().fit(P_fit, y_fit)
    np.testing.assert_allclose(
        ours.predict_proba(P_new), reference.predict_proba(features(P_new)), atol=1e-10
    )
    np.testing.assert_allclose(stacking_features(P_new), reference.transform(features(P_new)))


def test_out_of_fold_scores_never_use_the_example_they_score():
    P, y = _informative_models(n=100)
    # a model that memorises would be perfect in-sample; out-of-fold it must see new examples
    oof = out_of_fold_probabilities(Stacking(), P, y, folds=5, seed=0)
    assert oof.shape == (100, 3)
    np.testing.assert_allclose(oof.sum(-1), 1.0)
    in_sample = Stacking().fit(P, y).predict_proba(P)
    assert not np.allclose(oof, in_sample)


def test_bad_probabilities_are_named():
    P = _random_probabilities(2, 4, 2)
    P[1, 3] = [0.5, 0.9]
    with pytest.raises(ValueError, match="model 1, example 3: probabilities sum to 1.4"):
        WeightedAverage().fit(P, np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="expected \\(models, examples, classes\\)"):
        Voting().fit(P[0])
    with pytest.raises(ValueError, match="y: expected shape \\(4,\\)"):
        Stacking().fit(_random_probabilities(2, 4, 2), np.zeros(5, dtype=int))


def _fake_run(folder, probabilities: dict, targets: dict, seed: int = 0, seconds: float = 10.0):
    folder.mkdir(parents=True)
    tensors = {}
    for split, p in probabilities.items():
        tensors[split] = torch.tensor(p, dtype=torch.float32)
        tensors[f"{split}_targets"] = torch.tensor(targets[split])
    save_file(tensors, str(folder / "probabilities.safetensors"))
    metrics = {"seed": seed, "timings": {"train_seconds": seconds}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_ensemble_cli_writes_a_run_directory_that_beats_its_members(tmp_path, capsys):
    rng = np.random.default_rng(5)
    y = {"val": rng.integers(0, 2, 300), "test": rng.integers(0, 2, 300)}
    # two complementary models, each 50 % accurate: confidently right (0.95) on its own half
    # of the examples and mildly wrong (0.45 on the true class) on the other half
    runs = []
    for m in range(2):
        probabilities = {}
        for split, targets in y.items():
            own_half = np.arange(len(targets)) % 2 == m
            p_true = np.where(own_half, 0.95, 0.45)
            p = np.empty((len(targets), 2))
            p[np.arange(len(targets)), targets] = p_true
            p[np.arange(len(targets)), 1 - targets] = 1 - p_true
            probabilities[split] = p
        runs.append(_fake_run(tmp_path / f"m{m}", probabilities, y))
    out = tmp_path / "ens"
    code = main(["ensemble", *map(str, runs), "--method", "weighted", "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ensemble"]["members"] == [str(r) for r in runs]
    assert sum(metrics["ensemble"]["weights"]) == pytest.approx(1.0, abs=1e-3)
    assert metrics["ensemble"]["members_test_accuracy"] == [0.5, 0.5]
    assert metrics["test"]["accuracy"] == 1.0  # the average is right everywhere
    assert metrics["val"]["n"] == 300 and metrics["test"]["n"] == 300
    assert metrics["timings"]["train_seconds"] >= 20.0  # the members' training counts
    assert "ensemble test accuracy" in capsys.readouterr().out
    tensors = load_file(str(out / "probabilities.safetensors"))
    assert (
        tensors["val"].shape == (300, 2) and tensors["test_targets"].tolist() == y["test"].tolist()
    )


def test_ensemble_refuses_runs_with_different_validation_examples(tmp_path):
    P = _random_probabilities(2, 20, 2)
    a = _fake_run(tmp_path / "a", {"val": P[0]}, {"val": np.arange(20) % 2})
    b = _fake_run(tmp_path / "b", {"val": P[1]}, {"val": (np.arange(20) + 1) % 2}, seed=1)
    with pytest.raises(ValueError, match="predict different val examples .*targets differ"):
        run_ensemble([a, b], tmp_path / "out")


def test_ensemble_of_an_older_run_says_how_to_write_its_probabilities(tmp_path, capsys):
    old = tmp_path / "old"
    old.mkdir()
    save_file({"val": torch.full((4, 2), 0.5)}, str(old / "probabilities.safetensors"))
    other = _fake_run(tmp_path / "b", {"val": np.full((4, 2), 0.5)}, {"val": np.zeros(4, int)})
    code = main(["ensemble", str(old), str(other), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--save-probabilities" in capsys.readouterr().err


def test_runs_of_two_seeds_on_one_split_seed_can_be_ensembled(tmp_path, sentiment_csv):
    import amkit

    train = sentiment_csv(tmp_path / "train.csv", n=200)
    test = sentiment_csv(tmp_path / "test.csv", n=60, seed=1)
    config = {
        "data": {"name": "text", "train": str(train), "test": str(test), "max_len": 16,
                 "min_freq": 1, "val_fraction": 0.2},
        "model": {"name": "text_classifier", "encoder": "cnn", "d_embed": 8, "d_hidden": 8},
        "train": {"epochs": 2, "batch_size": 32, "progress": False},
    }  # fmt: skip
    runs = {}
    for name, extra in (("a", ["seed=0"]), ("b", ["seed=1"]),
                        ("c", ["seed=0", "data.split_seed=7"]),
                        ("d", ["seed=1", "data.split_seed=7"])):  # fmt: skip
        runs[name] = amkit.run(config, run_dir=tmp_path / name, overrides=extra).run_dir
    with pytest.raises(ValueError, match="predict different val examples"):
        run_ensemble([runs["a"], runs["b"]], tmp_path / "ab")
    metrics = run_ensemble([runs["c"], runs["d"]], tmp_path / "cd")
    assert metrics["val"]["n"] == 40 and metrics["test"]["n"] == 60


def test_ensemble_of_multi_task_runs_scores_each_task(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    tasks = np.repeat([1, 2], 30)
    runs = []
    for m in range(2):
        folder = tmp_path / f"m{m}"
        folder.mkdir()
        p = _random_probabilities(1, 60, 3, seed=m)[0]
        tensors = {"val": torch.tensor(p, dtype=torch.float32), "val_targets": torch.tensor(y),
                   "val_task": torch.tensor(tasks), "test": torch.tensor(p, dtype=torch.float32),
                   "test_targets": torch.tensor(y), "test_task": torch.tensor(tasks)}  # fmt: skip
        save_file(tensors, str(folder / "probabilities.safetensors"))
        runs.append(folder)
    metrics = run_ensemble(runs, tmp_path / "out", method="voting")
    assert set(metrics["test"]["per_task"]) == {"1", "2"}
    assert metrics["test"]["per_task"]["1"]["n"] == 30
    saved = load_file(str(tmp_path / "out" / "probabilities.safetensors"))
    assert saved["test_task"].tolist() == tasks.tolist()


def test_ensemble_of_question_answering_runs_scores_hits_at_1_per_hop(tmp_path):
    """Questions with answer sets over many entities (every class seen once or twice, so the
    out-of-fold split cannot stratify): hits@1 of the averaged scores, per hop count too."""
    rng = np.random.default_rng(3)
    n, entities = 40, 200
    answers = np.full((n, 3), -1)
    for i in range(n):
        answers[i, : 1 + i % 3] = rng.choice(entities, 1 + i % 3, replace=False)
    hops = np.repeat([1, 2], n // 2)
    runs, tops = [], []
    for m in range(2):
        p = _random_probabilities(1, n, entities, seed=10 + m)[0]
        # each model puts its top score on an answer for its own half of the questions
        own = np.arange(n) % 2 == m
        p[own, answers[own, 0]] = 5.0
        p = p / p.sum(1, keepdims=True)
        tops.append(p.argmax(1))
        folder = tmp_path / f"m{m}"
        folder.mkdir()
        tensors = {}
        for split in ("val", "test"):
            tensors |= {split: torch.tensor(p, dtype=torch.float32),
                        f"{split}_targets": torch.tensor(answers[:, 0]),
                        f"{split}_answers": torch.tensor(answers),
                        f"{split}_hops": torch.tensor(hops)}  # fmt: skip
        save_file(tensors, str(folder / "probabilities.safetensors"))
        runs.append(folder)
    metrics = run_ensemble(runs, tmp_path / "out", method="voting")
    averaged = sum(load_file(str(r / "probabilities.safetensors"))["test"] for r in runs) / 2
    top = averaged.argmax(1).numpy()
    hit = (answers == top[:, None]).any(1)
    assert metrics["test"]["hits@1"] == pytest.approx(hit.mean())
    assert metrics["test"]["hits@1_1hop"] == pytest.approx(hit[:20].mean())
    assert metrics["test"]["hits@1_2hop"] == pytest.approx(hit[20:].mean())
    assert metrics["test"]["hits@1"] == 1.0  # each question has one confident member
    member_hits = [float((answers == t[:, None]).any(1).mean()) for t in tops]
    assert metrics["ensemble"]["members_test_hits@1"] == pytest.approx(member_hits, abs=1e-4)
    assert "hits@1_2hop" in metrics["val"]  # out-of-fold, with plain folds
    saved = load_file(str(tmp_path / "out" / "probabilities.safetensors"))
    assert saved["test_answers"].tolist() == answers.tolist()
    other = np.roll(answers, 1, axis=0)  # a run on other questions
    tensors = load_file(str(runs[1] / "probabilities.safetensors"))
    tensors["test_answers"] = torch.tensor(other)
    save_file(tensors, str(runs[1] / "probabilities.safetensors"))
    with pytest.raises(ValueError, match="different test answer sets"):
        run_ensemble(runs, tmp_path / "out2", method="voting")


def test_hard_voting_over_many_classes_needs_no_one_hot_table():
    P = _random_probabilities(3, 5, 50_000)
    shares = Voting(voting="hard").fit(P).predict_proba(P)
    expected = np.zeros((5, 50_000))
    for top in P.argmax(-1):
        expected[np.arange(5), top] += 1 / 3
    np.testing.assert_allclose(shares, expected)
