"""``amkit explain`` looks a run's explainer up by its model and task (registered, not
guessed from files or tensor keys); unknown ones and missing inputs are user errors."""

from __future__ import annotations

import json

import pytest
import yaml

import amkit
from amkit.cli import main
from amkit.data.base import DATASETS, TASKS
from amkit.errors import UserError
from amkit.explain import EXPLAINERS, explainer_for, run_kind
from amkit.models import MODELS


def _run_dir(tmp_path, data: dict, model: dict):
    """A run directory with only its config: enough to know what explains it."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"seed": 0, "data": data, "model": model}))
    return run


def test_every_task_has_an_explainer_and_every_key_is_a_task_or_a_model():
    assert set(TASKS) <= set(EXPLAINERS)
    assert set(EXPLAINERS) <= set(TASKS) | set(MODELS)
    assert {entry.task for entry in DATASETS.values()} <= set(TASKS)
    assert EXPLAINERS["recall_attention"].takes == "example"  # a model's own wins
    assert EXPLAINERS["classification"].takes == "text"


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("associative_recall", {"n_train": 20, "n_val": 5, "n_test": 5}),
        ("babi_generated", {"n_train": 20, "n_test": 10, "memory_size": 5}),
        ("house_stories", {"n_train": 20, "n_test": 10}),
    ],
)
def test_a_datasets_registered_task_is_the_task_its_data_states(name, settings):
    entry = DATASETS[name]
    bundle = entry.build(entry.config_cls(**settings), 0)
    assert bundle.info.task == entry.task


def test_run_kind_reads_the_config_and_a_saved_data_info(tmp_path):
    run = _run_dir(tmp_path, {"name": "babi_generated"}, {"name": "memn2n"})
    assert run_kind(run) == ("memn2n", "story_qa")
    assert explainer_for("memn2n", "story_qa").name == "story_qa"
    (run / "data_info.json").write_text(json.dumps({"task": "classification", "n_classes": 2}))
    assert run_kind(run) == ("memn2n", "classification")  # what the run saved wins
    with pytest.raises(FileNotFoundError, match="no config.yaml"):
        run_kind(tmp_path)


def test_without_an_explainer_the_error_lists_what_can_be_explained(monkeypatch):
    monkeypatch.delitem(EXPLAINERS, "ranking")
    with pytest.raises(UserError, match=r"no explanation for a bpr model on ranking data") as e:
        explainer_for("bpr", "ranking")
    assert "classification, forecasting, story_qa, translation" in str(e.value)
    assert "recall_attention" in str(e.value)


@pytest.mark.parametrize(
    ("data", "model", "argv", "hint"),
    [
        ({"name": "babi_generated"}, {"name": "memn2n"}, ["--text", "hi"], "--example N"),
        ({"name": "babi_generated"}, {"name": "memn2n"}, ["--user", "u1"], "--example N"),
        ({"name": "imdb"}, {"name": "text_classifier"}, [], "--text"),
        ({"name": "sequences"}, {"name": "sasrec"}, ["--text", "hi"], "--user ID"),
    ],
)
def test_a_run_asked_for_what_its_explainer_does_not_take_says_what_it_takes(
    tmp_path, capsys, data, model, argv, hint
):
    run = _run_dir(tmp_path, data, model)
    assert main(["explain", str(run), *argv]) == 2
    err = capsys.readouterr().err
    assert f"a {model['name']} run on" in err and hint in err


def test_a_recall_run_is_explained_by_its_models_explainer(tmp_path, capsys):
    """A recall run's data is classification, but the model's own explainer (the query's
    attention over one example) wins over the text explainer of its task."""
    config = {
        "seed": 0,
        "data": {"name": "associative_recall", "n_pairs": 3, "n_train": 64, "n_val": 16,
                 "n_test": 16},
        "model": {"name": "recall_attention", "d_model": 8},
        "train": {"epochs": 1, "batch_size": 32},
    }  # fmt: skip
    result = amkit.run(config, run_dir=tmp_path / "recall")
    assert main(["explain", str(result.run_dir), "--example", "2"]) == 0
    out = capsys.readouterr().out
    assert "query:" in out and "attention:" in out
    assert (result.run_dir / "plots" / "query_attention_test2.png").is_file()
