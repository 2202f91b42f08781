"""A run directory records the amkit version and the run format; a run written by a newer
format is refused with both versions named, on load and on resume."""

from __future__ import annotations

import json
import re
import shutil

import pytest

import amkit
from amkit.cli import main
from amkit.errors import UserError
from amkit.experiments.loading import RUN_FORMAT


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    config = {"data": {"name": "associative_recall", "n_train": 32, "n_val": 8, "n_test": 8},
              "model": {"name": "recall_attention", "d_model": 8},
              "train": {"epochs": 1, "progress": False}}  # fmt: skip
    amkit.run(config, run_dir=out)
    return out


def _copy(run_dir, tmp_path):
    return shutil.copytree(run_dir, tmp_path / "run")


def _set(path, **values):
    saved = json.loads(path.read_text())
    saved.update(values)
    path.write_text(json.dumps(saved))


def test_the_run_records_its_versions(run_dir):
    for name in ("metrics.json", "data_info.json"):
        saved = json.loads((run_dir / name).read_text())
        assert saved["run_format"] == RUN_FORMAT and saved["amkit_version"] == amkit.__version__


def test_a_run_without_recorded_format_still_loads(run_dir, tmp_path):
    run = _copy(run_dir, tmp_path)
    for name in ("metrics.json", "data_info.json"):
        saved = json.loads((run / name).read_text())
        for key in ("run_format", "amkit_version"):
            saved.pop(key)
        (run / name).write_text(json.dumps(saved))
    assert amkit.load(run).info.task == amkit.load(run_dir).info.task


@pytest.mark.parametrize("name", ["metrics.json", "data_info.json"])
def test_a_newer_format_is_refused_on_load_and_resume(run_dir, tmp_path, name, capsys):
    run = _copy(run_dir, tmp_path)
    _set(run / name, run_format=RUN_FORMAT + 1, amkit_version="99.0")
    expected = (
        rf"{name}: written with run format {RUN_FORMAT + 1} \(amkit 99.0\); this amkit "
        rf".* reads run format {RUN_FORMAT} at most"
    )
    with pytest.raises(UserError, match=expected):
        amkit.load(run)
    with pytest.raises(UserError, match=expected):
        amkit.run(None, run_dir=run, resume=True)
    assert main(["evaluate", str(run)]) == 2
    assert re.search(expected, capsys.readouterr().err)
