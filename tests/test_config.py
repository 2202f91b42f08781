"""Config dataclasses: YAML filling, overrides and errors that report every problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from amkit.config import (
    ConfigError,
    apply_overrides,
    from_dict,
    load_yaml,
    option,
    to_dict,
)
from amkit.configs import ROOT as SHIPPED_ROOT
from amkit.demo import DEMO_CONFIG
from amkit.experiments.run import load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Inner:
    width: int = option(8, ge=1)
    kind: Literal["a", "b"] = "a"


@dataclass
class Outer:
    lr: float = option(0.1, gt=0)
    name: str = "x"
    clip: float | None = None
    sizes: list[int] = field(default_factory=lambda: [1, 2])
    inner: Inner = field(default_factory=Inner)
    flag: bool = False


def test_from_dict_fills_and_converts():
    cfg = from_dict(Outer, {"lr": "1e-3", "clip": 5, "inner": {"width": 3}, "sizes": [4]})
    assert cfg.lr == pytest.approx(1e-3)  # YAML 1.1 reads 1e-3 as a string
    assert cfg.clip == 5.0 and isinstance(cfg.clip, float)
    assert cfg.inner == Inner(width=3, kind="a")
    assert cfg.sizes == [4]
    assert to_dict(cfg)["inner"] == {"width": 3, "kind": "a"}


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as info:
        from_dict(
            Outer,
            {"lr": -1, "nme": "y", "inner": {"width": 0, "kind": "c"}, "flag": "yes", "sizes": "3"},
        )
    problems = info.value.problems
    text = str(info.value)
    assert len(problems) == 6, problems
    assert "lr: must be > 0, got -1" in text
    assert "nme: unknown key (did you mean 'name'?)" in text
    assert "inner.width: must be >= 1, got 0" in text
    assert "inner.kind: 'c' is not allowed" in text and "choose one of a, b" in text
    assert "flag: expected true or false" in text
    assert "sizes: expected a list" in text


def test_overrides_are_dotted_and_yaml_typed():
    data = apply_overrides({"train": {"lr": 0.1}}, ["train.lr=0.5", "model.hops=3", "x=true"])
    assert data == {"train": {"lr": 0.5}, "model": {"hops": 3}, "x": True}
    with pytest.raises(ConfigError, match="must look like key.sub=value"):
        apply_overrides({}, ["train.lr"])
    with pytest.raises(ConfigError, match="is not a mapping"):
        apply_overrides({"train": 3}, ["train.lr=1"])


def test_yaml_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 0\nmodel: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: invalid YAML"):
        load_yaml(bad)
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_yaml(tmp_path / "missing.yaml")


def test_experiment_config_reports_every_section():
    with pytest.raises(ConfigError) as info:
        parse_config(
            {
                "seed": -1,
                "data": {"name": "associative_recal"},
                "model": {"name": "recall_attention", "score": "dott"},
                "train": {"epochs": 0},
                "extra": 1,
            }
        )
    text = str(info.value)
    assert "extra: unknown top-level key" in text
    assert "did you mean 'associative_recall'" in text
    assert "model.score: 'dott' is not allowed (did you mean 'dot'?)" in text
    assert "train.epochs: must be >= 1, got 0" in text
    assert "seed: expected an integer >= 0" in text


def test_cross_field_validation():
    with pytest.raises(ConfigError, match=r"n_pairs \(30\) must be <= n_keys \(26\)"):
        load_config(DEMO_CONFIG, ["data.n_pairs=30"])
    with pytest.raises(ConfigError, match="must start with 'val_' or 'train_'"):
        load_config(DEMO_CONFIG, ["train.monitor=accuracy"])


SHIPPED = sorted(SHIPPED_ROOT.rglob("*.yaml"))  # amkit/configs, shipped in the wheel


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(SHIPPED_ROOT)) for p in SHIPPED])
def test_every_shipped_config_is_valid_and_says_how_to_run(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# Run: amkit "), f"{path} must start with its run command"
    if first.startswith("# Run: amkit train-gan"):
        from amkit.experiments.gan import load_gan_config

        load_gan_config(path)
    elif first.startswith("# Run: amkit kg-train"):
        from amkit.experiments.link_prediction import load_link_prediction_config

        load_link_prediction_config(path)
    elif first.startswith("# Run: amkit baseline") and "image_svm:" in path.read_text():
        from amkit.baselines.images import load_image_baseline_config

        load_image_baseline_config(path)
    elif first.startswith("# Run: amkit baseline"):
        from amkit.baselines.run import load_baseline_config

        load_baseline_config(path)
    else:
        load_config(path)


def test_demo_yaml_matches_embedded_demo_config():
    assert load_config(ROOT / "configs/demo/recall.yaml").to_dict() == (
        load_config(DEMO_CONFIG).to_dict()
    )


def test_the_python_api_takes_a_shipped_config_by_name():
    from amkit.experiments.experiment import load_config

    config = load_config("babi/memn2n_1k_joint", ["train.epochs=2"])
    assert config.model.name == "memn2n" and config.train.epochs == 2
    with pytest.raises(FileNotFoundError, match="did you mean 'babi/memn2n_1k_joint'"):
        load_config("babi/memn2n_1k_jiont")
