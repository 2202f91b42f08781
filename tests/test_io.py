"""amkit.io: every write is atomic -- a failed write leaves the old file and no temp file."""

import json

import pytest
import torch
from safetensors.torch import load_file

from amkit.io import (
    atomic_copy,
    atomic_save_figure,
    atomic_save_tensors,
    atomic_write_json,
    atomic_write_text,
    directory_backup,
    replace_directory,
)


def test_writes_round_trip(tmp_path):
    atomic_write_text(tmp_path / "a" / "t.txt", "héllo\n")
    atomic_write_json(tmp_path / "m.json", {"b": 1, "a": [1.5]})
    atomic_save_tensors(tmp_path / "w.safetensors", {"x": torch.arange(3.0)})
    atomic_copy(tmp_path / "m.json", tmp_path / "copy.json")
    assert (tmp_path / "a" / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    assert list(json.loads((tmp_path / "copy.json").read_text())) == ["b", "a"]  # order kept
    torch.testing.assert_close(load_file(tmp_path / "w.safetensors")["x"], torch.arange(3.0))


def test_tied_tensors_are_saved_as_copies(tmp_path):
    shared = torch.ones(2, 2)
    atomic_save_tensors(tmp_path / "t.safetensors", {"a": shared, "b": shared})
    assert set(load_file(tmp_path / "t.safetensors")) == {"a", "b"}


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    atomic_save_tensors(path, {"w": torch.zeros(2)})
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", explode)
    with pytest.raises(OSError, match="disk full"):
        atomic_save_tensors(path, {"w": torch.ones(2)})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp left


def test_failed_figure_keeps_the_old_file(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = tmp_path / "plot.png"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    atomic_save_figure(fig, path)
    before = path.read_bytes()
    assert before.startswith(b"\x89PNG")
    assert not plt.get_fignums()  # the figure is closed

    broken, _ = plt.subplots()

    def die(*args, **kwargs):
        raise RuntimeError("renderer died")

    broken.savefig = die
    with pytest.raises(RuntimeError, match="renderer died"):
        atomic_save_figure(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_replace_directory_recovers_from_a_stop_between_its_renames(tmp_path):
    target, new = tmp_path / "store", tmp_path / ".store.new"
    target.mkdir()
    (target / "v").write_text("1")
    new.mkdir()
    (new / "v").write_text("2")
    replace_directory(new, target)
    assert (target / "v").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    # stopped after the first rename: only the backup holds the data; the next call restores it
    target.rename(directory_backup(target))
    newer = tmp_path / ".store.newer"
    newer.mkdir()
    (newer / "v").write_text("3")
    replace_directory(newer, target)
    assert (target / "v").read_text() == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


@pytest.mark.parametrize(
    "content",
    [b"", b"\x80\x04\x95 a pickle renamed", b"\xff" * 64, b"{}"],
    ids=["cut-short", "pickle", "random", "no-header"],
)
def test_a_bad_weights_file_is_an_error_naming_it(tmp_path, content):
    from amkit.errors import UserError
    from amkit.io import read_tensors

    good = tmp_path / "good.safetensors"
    atomic_save_tensors(good, {"w": torch.ones(3, 3)})
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(content or good.read_bytes()[:20])  # b"": a real file cut short
    with pytest.raises(UserError, match=f"{bad}: not a readable safetensors file"):
        read_tensors(bad)


def test_a_truncated_model_file_fails_evaluate_in_one_line(tmp_path, capsys):
    from amkit.cli import main

    config = {
        "data": {"name": "associative_recall", "n_train": 64, "n_val": 16, "n_test": 16},
        "model": {"name": "recall_attention", "d_model": 8},
        "train": {"epochs": 1, "progress": False},
    }
    import amkit

    amkit.run(config, run_dir=tmp_path / "run")
    weights = tmp_path / "run" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert main(["evaluate", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"amkit: error: {weights}: not a readable safetensors file")
    assert "Traceback" not in err
