"""``train.init_from``: a run that starts from another run's weights (fine-tuning, curricula)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

import amkit
from amkit.demo import DEMO_CONFIG

TINY = [
    "data.n_keys=8",
    "data.n_pairs=3",
    "data.n_train=256",
    "data.n_val=64",
    "data.n_test=96",
    "model.d_model=16",
    "train.batch_size=32",
    "train.progress=false",
    "train.epochs=1",
]


def _weights(run_dir):
    return load_file(str(run_dir / "model.safetensors"))


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """One epoch of the demo recall model: the run the others start from."""
    out = tmp_path_factory.mktemp("init") / "source"
    amkit.run(DEMO_CONFIG, run_dir=out, overrides=TINY)
    return out


def test_a_run_starts_from_the_other_runs_weights(source_run, tmp_path):
    """With a learning rate of 1e-12 the epoch changes nothing: the new run's weights are the
    source's; without init_from the same run has weights of its own."""
    frozen = [*TINY, "train.lr=1e-12", "seed=1"]
    started = amkit.run(
        DEMO_CONFIG, run_dir=tmp_path / "a", overrides=[*frozen, f"train.init_from={source_run}"]
    ).run_dir
    fresh = amkit.run(DEMO_CONFIG, run_dir=tmp_path / "b", overrides=frozen).run_dir
    source, loaded, own = _weights(source_run), _weights(started), _weights(fresh)
    assert source.keys() == loaded.keys()
    for key in source:
        torch.testing.assert_close(loaded[key], source[key], atol=1e-6, rtol=0)
    assert max((own[k] - source[k]).abs().max().item() for k in source) > 1e-3
    # a weights file works as well as its run directory
    by_file = amkit.run(
        DEMO_CONFIG,
        run_dir=tmp_path / "c",
        overrides=[*frozen, f"train.init_from={source_run / 'model.safetensors'}"],
    ).run_dir
    torch.testing.assert_close(_weights(by_file), loaded, atol=1e-6, rtol=0)


def test_weights_of_another_shape_are_refused_with_the_key(source_run, tmp_path):
    with pytest.raises(ValueError, match=r"train\.init_from: .* does not fit .*shape \(") as err:
        amkit.run(
            DEMO_CONFIG,
            run_dir=tmp_path / "wide",
            overrides=[*TINY, "model.d_model=24", f"train.init_from={source_run}"],
        )
    assert "in the model" in str(err.value)


def test_a_missing_source_names_the_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match="train.init_from"):
        amkit.run(
            DEMO_CONFIG,
            run_dir=tmp_path / "run",
            overrides=[*TINY, f"train.init_from={tmp_path / 'nothing.safetensors'}"],
        )


def test_a_run_on_another_vocabulary_is_refused(tmp_path, sentiment_csv):
    """Text runs number their words from their own data: a source whose data section builds
    another vocabulary is refused before any weight is loaded."""
    train = sentiment_csv(tmp_path / "train.csv", n=200)
    test = sentiment_csv(tmp_path / "test.csv", n=60, seed=1)
    config = {
        "data": {"name": "text", "train": str(train), "test": str(test), "max_len": 16},
        "model": {"name": "text_classifier", "encoder": "cnn", "d_embed": 8, "d_hidden": 8},
        "train": {"epochs": 1, "batch_size": 32, "progress": False},
    }
    source = amkit.run(config, run_dir=tmp_path / "source").run_dir
    same = amkit.run(config, run_dir=tmp_path / "same", overrides=[f"train.init_from={source}"])
    assert same.metrics["epochs"] == 1
    with pytest.raises(ValueError, match="another vocabulary"):  # seed 1 carves another
        amkit.run(  # validation split out of train, and the vocabulary comes from the rest
            config, run_dir=tmp_path / "seed1", overrides=["seed=1", f"train.init_from={source}"]
        )
    with pytest.raises(ValueError, match="another vocabulary"):
        amkit.run(
            config,
            run_dir=tmp_path / "other",
            overrides=["data.min_freq=100", f"train.init_from={source}"],
        )
