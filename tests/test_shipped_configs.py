"""Shipped configs by name (``amkit train babi/memn2n_1k_joint``) and the package's files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import amkit
from amkit.cli import main
from amkit.configs import ROOT, config_names, find_config

REPO = Path(__file__).resolve().parents[1]
NAMES = config_names()


def test_configs_are_shipped_inside_the_package():
    assert Path(amkit.__file__).resolve().parent / "configs" == ROOT
    assert len(NAMES) == len(list(ROOT.rglob("*.yaml"))) > 30
    assert "babi/memn2n_1k_joint" in NAMES and "demo/recall" in NAMES
    # the repository's configs/ is a link to the package's folder (documented paths work)
    assert (REPO / "configs").resolve() == ROOT


@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_config_is_found_by_name(name):
    path = find_config(name)
    assert path == ROOT / f"{name}.yaml"
    assert path.read_text(encoding="utf-8").startswith("# Run: amkit ")


def test_repository_paths_work_without_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here, as after pip install
    for text in ("configs/babi/memn2n_1k_joint.yaml", "babi/memn2n_1k_joint.yaml"):
        assert find_config(text) == ROOT / "babi/memn2n_1k_joint.yaml"


def test_an_existing_file_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "babi" / "memn2n_1k_joint.yaml"
    mine.parent.mkdir()
    mine.write_text("seed: 1\n")
    assert find_config("babi/memn2n_1k_joint.yaml") == Path("babi/memn2n_1k_joint.yaml")


def test_unknown_name_suggests_and_says_how_to_list(capsys):
    with pytest.raises(FileNotFoundError, match=r"did you mean 'babi/memn2n_1k_joint'\?"):
        find_config("babi/memn2n_1k_jont")
    assert main(["train", "babi/memn2n_1k_jont"]) == 2
    assert "`amkit ls` lists the shipped configs" in capsys.readouterr().err


def test_ls_lists_the_shipped_configs(capsys):
    assert main(["ls"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("configs"))
    assert all(name in line for name in NAMES)


def test_train_takes_a_config_name(tmp_path, capsys):
    tiny = ["data.n_train=64", "data.n_val=16", "data.n_test=16", "train.epochs=1"]
    out = tmp_path / "run"
    assert main(["train", "demo/recall", "--out", str(out), "--set", *tiny]) == 0
    assert (out / "config.yaml").is_file()
    assert "test accuracy" in capsys.readouterr().out


def test_version_is_written_in_one_place():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "amkit.__version__"}
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert "version" not in citation  # would drift from amkit.__version__
    assert (Path(amkit.__file__).parent / "py.typed").is_file()
    assert "MIT License" in (REPO / "LICENSE").read_text(encoding="utf-8")
