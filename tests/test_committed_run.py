"""Runs users already have keep loading: a tiny run of the current run format is committed
(``tests/fixtures/run_format/``, written by ``tools/make_run_fixture.py``) with its outputs
on a fixed input. Loading it as ``amkit evaluate --input`` and ``amkit explain`` do must give
those outputs again; a copy claiming another run format must get a clear refusal.

When ``RUN_FORMAT`` changes, check that runs of the old format still load (or are refused
with a clear message), then regenerate the fixture:
``PYTHONPATH=. python tools/make_run_fixture.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import amkit
from amkit.cli import main
from amkit.experiments.loading import OLDEST_RUN_FORMAT, RUN_FORMAT

FIXTURE = Path(__file__).parent / "fixtures" / "run_format"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
REGENERATE = "regenerate it with `PYTHONPATH=. python tools/make_run_fixture.py`"


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A copy of the committed run (loading must not need to write, but a test may)."""
    return shutil.copytree(FIXTURE / "run", tmp_path / "run")


def test_the_committed_run_is_of_the_current_format():
    for name in ("metrics.json", "data_info.json"):
        saved = json.loads((FIXTURE / "run" / name).read_text(encoding="utf-8"))
        assert saved["run_format"] == RUN_FORMAT, (
            f"RUN_FORMAT is now {RUN_FORMAT} but the committed run is of format "
            f"{saved['run_format']}: check that such runs still load, then {REGENERATE}"
        )
    assert EXPECTED["run_format"] == RUN_FORMAT


def test_the_committed_run_loads_and_predicts_as_when_it_was_saved(run_dir):
    run = amkit.load(run_dir)
    assert run.info.task == "classification" and run.info.label_names == ["neg", "pos"]
    probabilities = run.predict_texts(EXPECTED["texts"])
    torch.testing.assert_close(
        probabilities, torch.tensor(EXPECTED["probabilities"]), rtol=1e-5, atol=1e-6
    )


def test_amkit_evaluate_input_on_the_committed_run_gives_the_saved_metrics(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--input", str(FIXTURE / "inputs.csv")]) == 0
    printed = json.loads(capsys.readouterr().out)
    for key, value in EXPECTED["evaluate_input"].items():
        assert printed[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_amkit_explain_reads_the_committed_run(run_dir, tmp_path, capsys):
    out = tmp_path / "explained"
    assert main(["explain", str(run_dir), "--text", EXPECTED["texts"][0], "--out", str(out)]) == 0
    assert any(out.iterdir())


def test_the_committed_checkpoint_restores_the_training_state(run_dir):
    """``last.safetensors`` (weights, optimizer, random generators, counters) still fits the
    model and optimizer that this amkit builds for the run, as ``--resume`` needs."""
    from amkit.train.checkpoint import load_training_state
    from amkit.train.options import make_optimizer, make_scheduler

    run = amkit.load(run_dir)
    optimizer = make_optimizer(run.config.train, run.model.parameters())
    state = load_training_state(
        run_dir, run.model, optimizer, make_scheduler(run.config.train, optimizer)
    )
    assert state["epoch"] == run.config.train.epochs
    assert optimizer.state  # Adam's moments came back


@pytest.mark.parametrize(
    ("found", "says"),
    [
        (RUN_FORMAT + 1, f"reads run format {RUN_FORMAT} at most: upgrade amkit"),
        (OLDEST_RUN_FORMAT - 1, f"reads run format {OLDEST_RUN_FORMAT} at least: load or "
                                "resume it with amkit 0.0.1 (pip install 'amkit==0.0.1')"),
    ],
)  # fmt: skip
def test_a_copy_of_another_format_is_refused_naming_the_version(run_dir, capsys, found, says):
    info = run_dir / "data_info.json"
    saved = json.loads(info.read_text(encoding="utf-8"))
    info.write_text(json.dumps({**saved, "run_format": found, "amkit_version": "0.0.1"}))
    assert main(["evaluate", str(run_dir), "--input", str(FIXTURE / "inputs.csv")]) == 2
    err = capsys.readouterr().err
    assert f"{info}: written with run format {found} (amkit 0.0.1); this amkit " in err
    assert says in err


def test_a_run_format_that_is_not_a_number_is_named(run_dir):
    from amkit.errors import UserError

    metrics = run_dir / "metrics.json"
    saved = json.loads(metrics.read_text(encoding="utf-8"))
    metrics.write_text(json.dumps({**saved, "run_format": "1.0"}))
    with pytest.raises(UserError, match=rf"{metrics}: key 'run_format' must be an integer"):
        amkit.load(run_dir)
