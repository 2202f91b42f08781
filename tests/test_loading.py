"""amkit.load: a trained run is a model you can use without its training data on disk."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import amkit
from amkit.cli import main
from amkit.data.base import DataInfo
from amkit.errors import UserError
from amkit.experiments.loading import INFO_FILE, LoadedRun


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, sentiment_csv):
    folder = tmp_path_factory.mktemp("loading")
    train = sentiment_csv(folder / "train.csv", n=300, seed=1)
    test = sentiment_csv(folder / "test.csv", n=40, seed=2)
    config = folder / "text.yaml"
    config.write_text(
        f"data: {{name: text, train: {train}, test: {test}, max_len: 20, min_freq: 1,"
        " ngrams: 2}\n"
        "model: {name: text_classifier, encoder: cnn, d_embed: 16, d_hidden: 16}\n"
        "train: {epochs: 6, lr: 0.01, batch_size: 16, progress: false}\n",
        encoding="utf-8",
    )
    out = folder / "run"
    assert main(["train", str(config), "--out", str(out)]) == 0
    return out, train, test


def test_a_text_run_loads_and_predicts_without_its_training_data(text_run, tmp_path):
    run_dir, train, test = text_run
    _, model, data = amkit.load_run(run_dir)  # with the data: the reference
    tokens = data.split("test").tensors["tokens"][:8]
    expected = torch.softmax(model(tokens=tokens).logits, -1)
    moved = tmp_path / "elsewhere"
    shutil.copytree(run_dir, moved)  # the training files stay where they are, unread:
    hidden = tmp_path / "hidden.csv"
    shutil.move(str(train), hidden)  # the run's data path no longer exists
    try:
        run = amkit.load(moved)
        assert isinstance(run, LoadedRun) and run.info.task == "classification"
        assert run.info.label_names == ["neg", "pos"] and run.info.vocab[:2] == ["<pad>", "<unk>"]
        torch.testing.assert_close(torch.softmax(run.model(tokens=tokens).logits, -1), expected)
        probabilities = run.predict_texts(["a superb film", "an awful boring plot"])
        assert probabilities.shape == (2, 2)
        torch.testing.assert_close(probabilities.sum(1), torch.ones(2))
        assert probabilities[0, 1] > 0.5 > probabilities[1, 1]  # pos, then neg
        assert LoadedRun.from_pretrained(moved).info == run.info
    finally:
        shutil.move(str(hidden), train)


def test_data_info_json_keeps_what_the_model_needs(text_run):
    saved = json.loads((text_run[0] / INFO_FILE).read_text())
    assert saved["task"] == "classification" and saved["n_classes"] == 2
    assert saved["vocab"] is None  # a text run keeps its vocabulary in vocab.json


def test_evaluate_a_new_labelled_file(text_run, tmp_path, capsys, sentiment_csv):
    run_dir, _, _ = text_run
    new = sentiment_csv(tmp_path / "new.csv", n=30, seed=7)
    assert main(["evaluate", str(run_dir), "--input", str(new)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["input"] == str(new) and printed["n"] == 30 and 0 <= printed["accuracy"] <= 1
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\na superb film,maybe\n", encoding="utf-8")
    assert main(["evaluate", str(run_dir), "--input", str(bad)]) == 2
    assert f"{bad}:2: unknown label 'maybe'" in capsys.readouterr().err


def test_a_story_run_loads_without_its_data(tmp_path):
    out = tmp_path / "story"
    config = {
        "data": {"name": "babi_generated", "tasks": [1, 2], "n_train": 120, "n_test": 30},
        "model": {"name": "memn2n", "d_model": 8, "hops": 2, "linear_start": False},
        "train": {"epochs": 1, "progress": False},
    }
    result = amkit.run(config, run_dir=out)
    batch = result.data.split("test")[torch.arange(4)]
    expected = result.model.eval()(story=batch["story"], query=batch["query"]).logits
    run = amkit.load(out)
    assert run.info.task == "story_qa" and run.info.memory_size == result.data.info.memory_size
    torch.testing.assert_close(
        run.model(story=batch["story"], query=batch["query"]).logits, expected
    )


def test_a_broken_data_info_names_the_file(text_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(text_run[0], run_dir)
    (run_dir / INFO_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match=f"{run_dir / INFO_FILE}:1: not valid JSON"):
        amkit.load(run_dir)
    (run_dir / INFO_FILE).write_text('{"task": "classification", "colour": 1}', encoding="utf-8")
    with pytest.raises(UserError, match="unknown keys \\['colour'\\], missing \\['n_classes'\\]"):
        amkit.load(run_dir)
    with pytest.raises(FileNotFoundError, match="is not a run directory"):
        amkit.load(tmp_path)


def test_a_run_without_data_info_is_loaded_by_rebuilding_its_data(text_run, tmp_path):
    run_dir = tmp_path / "old"
    shutil.copytree(text_run[0], run_dir)
    (run_dir / INFO_FILE).unlink()  # as written before amkit saved it
    assert amkit.load(run_dir).info.label_names == ["neg", "pos"]


def test_data_info_round_trips_id_maps():
    info = DataInfo(task="ranking", n_classes=2, n_items=3, n_users=2,
                    item_names={1: "a", 2: 7, 3: "c"}, user_names={1: "u1", 2: "u2"})  # fmt: skip
    back = DataInfo.from_json(json.loads(json.dumps(info.to_json())))
    assert back.item_names == {1: "a", 2: 7, 3: "c"} and back.user_names == {1: "u1", 2: "u2"}
    with pytest.raises(UserError, match="task: 'regression' is not one of"):
        DataInfo(task="regression", n_classes=1)
